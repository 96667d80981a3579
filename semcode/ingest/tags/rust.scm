; References in Rust (see python.scm for the captures).

(call_expression function: (identifier) @call)
(call_expression function: (scoped_identifier path: (_) @receiver name: (identifier) @call))
(call_expression function: (field_expression value: (_) @receiver
                                              field: (field_identifier) @call))
(call_expression function: (generic_function function: (identifier) @call))
(macro_invocation macro: (identifier) @call)

(use_declaration argument: (identifier) @import)
(use_declaration argument: (scoped_identifier path: (_) @module name: (identifier) @import))
(use_declaration argument: (use_as_clause path: (scoped_identifier path: (_) @module
                                                                    name: (identifier) @import)))
(scoped_use_list path: (_) @module list: (use_list (identifier) @import))

(type_identifier) @type

(arguments (identifier) @other)
