; References JavaScript, TypeScript and TSX share (see python.scm for the captures); a
; language's own file names it with `; inherits: _ecmascript`.

(call_expression function: (identifier) @call)
(call_expression function: (member_expression object: (_) @receiver
                                               property: (property_identifier) @call))
(new_expression constructor: (identifier) @call)
(new_expression constructor: (member_expression object: (_) @receiver
                                                property: (property_identifier) @call))

(import_statement (import_clause (named_imports (import_specifier name: (identifier) @import)))
                  source: (string (string_fragment) @module))
(import_statement (import_clause (identifier) @import) source: (string (string_fragment) @module))
(import_statement (import_clause (namespace_import (identifier) @import))
                  source: (string (string_fragment) @module))

(arguments (identifier) @other)
