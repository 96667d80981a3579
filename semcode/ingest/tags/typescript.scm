; References in TypeScript (see python.scm for the captures): the shared ones and type uses.
; A type_identifier that names the definition it belongs to is left out by the extractor.
; inherits: _ecmascript

(type_identifier) @type
(extends_clause value: (identifier) @type)
