; References in Python: calls, imports, type uses, and names passed as values.
; Captures: @call / @import / @type / @other name the referenced name; @receiver is what a
; call is made on (`app` of `app.route()`); @module is the module an import comes from.

(call function: (identifier) @call)
(call function: (attribute object: (_) @receiver attribute: (identifier) @call))
(decorator (identifier) @call)
(decorator (attribute object: (_) @receiver attribute: (identifier) @call))

(import_statement name: (dotted_name . (identifier) @import) @module)
(import_statement name: (aliased_import name: (dotted_name) @module alias: (identifier) @import))
(import_from_statement module_name: (_) @module name: (dotted_name (identifier) @import .))
(import_from_statement module_name: (_) @module
  name: (aliased_import name: (dotted_name (identifier) @import .)))
(import_from_statement module_name: (_) @module (wildcard_import) @import)

(type (identifier) @type)
(type (attribute attribute: (identifier) @type))
(type (generic_type (identifier) @type))
(type (subscript value: (identifier) @type))
(class_definition superclasses: (argument_list (identifier) @type))
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @type)))
(except_clause (identifier) @type)
(except_clause (as_pattern (identifier) @type))

(argument_list (identifier) @other)
(keyword_argument value: (identifier) @other)
