; References in C (see python.scm for the captures). An #include binds its header's name.
; No @other: identifiers passed to a C function are mostly its locals (4 rows in 10).

(call_expression function: (identifier) @call)
(call_expression function: (field_expression argument: (_) @receiver
                                              field: (field_identifier) @call))

(preproc_include path: (_) @module)

(type_identifier) @type

