; References in JavaScript (see python.scm for the captures).

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
(variable_declarator name: (identifier) @import
  value: (call_expression function: (identifier) @_require
                          arguments: (arguments (string (string_fragment) @module)))
  (#eq? @_require "require"))
(variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @import)
  value: (call_expression function: (identifier) @_require
                          arguments: (arguments (string (string_fragment) @module)))
  (#eq? @_require "require"))

(class_heritage (identifier) @type)
(class_heritage (member_expression property: (property_identifier) @type))

(arguments (identifier) @other)
