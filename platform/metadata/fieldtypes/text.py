"""Text-like field types: text, long_text, email, phone, url."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import String, Text
from sqlalchemy.types import TypeEngine

from xrm.metadata.fieldtypes.base import FieldType, FieldValueError, json_type_name
from xrm.metadata.fieldtypes.registry import register_field_type
from xrm.metadata.model import Field


class _TextBase(FieldType):
    value_type = "text"
    names_records = True
    searchable = True
    default_max_length = 255

    def max_length(self, field: Field) -> int | None:
        return field.max_length or self.default_max_length

    def column_type(self, field: Field) -> TypeEngine[Any]:
        limit = self.max_length(field)
        return String(limit) if limit else Text()

    def coerce_present(self, value: Any, field: Field) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise FieldValueError(f"expected text, found {json_type_name(value)}", "type")
        return str(value)

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        if "\x00" in value:  # PostgreSQL cannot store it in text; refuse it everywhere alike
            return FieldValueError("text cannot contain the NUL character", "invalid_character")
        limit = self.max_length(field)
        if limit and len(value) > limit:
            return FieldValueError(f"is {len(value)} characters long; at most {limit} are allowed", "too_long")
        return None

    def json_schema(self, field: Field) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if limit := self.max_length(field):
            schema["maxLength"] = limit
        return schema


@register_field_type
class TextType(_TextBase):
    name = "text"
    label = "Text"
    options_schema = {"max_length": {"type": "integer", "minimum": 1, "maximum": 4000}}


@register_field_type
class LongTextType(_TextBase):
    name = "long_text"
    label = "Long text"
    default_max_length = 0
    names_records = False  # paragraphs make poor link text
    options_schema = {"max_length": {"type": "integer", "minimum": 1}}

    def max_length(self, field: Field) -> int | None:
        return field.max_length


@register_field_type
class EmailType(_TextBase):
    name = "email"
    label = "E-mail"
    default_max_length = 254

    def coerce_present(self, value: Any, field: Field) -> Any:
        return super().coerce_present(value, field).strip()

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            return FieldValueError(f"'{value}' is not a valid e-mail address: {exc}", "invalid_email")
        return super().validate(value, field)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {**super().json_schema(field), "format": "email"}


_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,}( ?(x|ext\.?) ?[0-9]{1,6})?$", re.IGNORECASE)


@register_field_type
class PhoneType(_TextBase):
    name = "phone"
    label = "Phone"
    default_max_length = 40

    def coerce_present(self, value: Any, field: Field) -> Any:
        return super().coerce_present(value, field).strip()

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE.match(value) or digits < 3:
            return FieldValueError(
                f"'{value}' is not a phone number: use digits, spaces, + ( ) - . / and an optional 'ext'",
                "invalid_phone",
            )
        return super().validate(value, field)


@register_field_type
class UrlType(_TextBase):
    name = "url"
    label = "Web address"
    default_max_length = 2000

    def coerce_present(self, value: Any, field: Field) -> Any:
        text = super().coerce_present(value, field).strip()
        if "://" not in text:
            text = "https://" + text  # what people type: "example.com"
        return text

    def validate(self, value: Any, field: Field) -> FieldValueError | None:
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises for a malformed port ("https://about:blank")
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            return FieldValueError(f"'{value}' is not a web address (http:// or https://)", "invalid_url")
        return super().validate(value, field)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {**super().json_schema(field), "format": "uri"}
