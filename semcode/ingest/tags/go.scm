; References in Go (see python.scm for the captures). An import without a name binds its
; path's last element.

(call_expression function: (identifier) @call)
(call_expression function: (selector_expression operand: (_) @receiver
                                                 field: (field_identifier) @call))

(import_spec name: (package_identifier) @import path: (interpreted_string_literal) @module)
(import_spec !name path: (interpreted_string_literal) @module)

(type_identifier) @type

(argument_list (identifier) @other)
