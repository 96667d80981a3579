; References in Java (see python.scm for the captures).

(method_invocation object: (_) @receiver name: (identifier) @call)
(method_invocation !object name: (identifier) @call)
(object_creation_expression type: (type_identifier) @call)

(import_declaration (scoped_identifier scope: (_) @module name: (identifier) @import))

(type_identifier) @type

(argument_list (identifier) @other)
