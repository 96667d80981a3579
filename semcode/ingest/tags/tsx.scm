; References in TSX: TypeScript's.
; inherits: typescript
