; References in TypeScript (see python.scm for the captures). A type_identifier that names
; the definition it belongs to is left out by the extractor.

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

(type_identifier) @type
(extends_clause value: (identifier) @type)

(arguments (identifier) @other)
