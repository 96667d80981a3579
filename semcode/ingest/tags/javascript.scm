; References in JavaScript (see python.scm for the captures): the shared ones, CommonJS's
; require, and the classes a class extends.
; inherits: _ecmascript

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
