"""Field types: one class per type, registered by name.

Importing this package registers the built-in types.  A new type is one
``FieldType`` subclass decorated with ``@register_field_type``.
"""

from xrm.metadata.fieldtypes import choice, computed, numeric, relation, temporal, text  # noqa: F401  (registers)
from xrm.metadata.fieldtypes.base import DefinitionProblem, FieldType, FieldValueError
from xrm.metadata.fieldtypes.registry import (
    UnknownFieldType,
    field_type_names,
    field_types,
    get_field_type,
    register_field_type,
    unregister_field_type,
)

__all__ = [
    "DefinitionProblem",
    "FieldType",
    "FieldValueError",
    "UnknownFieldType",
    "field_type_names",
    "field_types",
    "get_field_type",
    "register_field_type",
    "unregister_field_type",
]
