"""SCIM documents: what comes in (validated like any API body) and what goes out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.models import Group, Person, PersonEmail
from gateway.scim.errors import bad_request
from gateway.scim.patch import ResourceShape
from kit.fields import Storable, Text

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

USER_SHAPE = ResourceShape(
    core_schema=USER_SCHEMA,
    extensions=(ENTERPRISE_SCHEMA,),
    attributes=(
        "userName", "externalId", "name", "givenName", "familyName", "formatted",
        "middleName", "honorificPrefix", "honorificSuffix", "displayName", "emails", "value",
        "type", "primary", "display", "active", "title", "locale", "preferredLanguage",
        "employeeNumber", "department", "manager",
    ),
)  # fmt: skip
GROUP_SHAPE = ResourceShape(
    core_schema=GROUP_SCHEMA,
    extensions=(),
    attributes=("displayName", "externalId", "members", "value", "display"),
)


def _scim_boolean(value: Any) -> Any:
    """true/false, or the strings Entra sends ("True", "False", any case); not 0 or 1."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


ScimBool = Annotated[bool, BeforeValidator(_scim_boolean)]
# The document's schema of a SCIM boolean (gateway.scim.openapi).
BOOLEAN_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"},
    ]
}
Reference = Annotated[str, StringConstraints(max_length=2000)]

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
]


def _case_insensitive(data: Any, names: tuple[str, ...]) -> Any:
    """SCIM attribute names are case-insensitive: map keys onto their canonical spelling."""
    if not isinstance(data, dict):
        return data
    canonical = {name.lower(): name for name in names}
    return {canonical.get(key.lower(), key): value for key, value in data.items()}


class _Lenient(BaseModel):
    # Attributes we do not store (phoneNumbers, addresses, ...) are accepted and ignored,
    # so an identity provider's default mappings do not fail provisioning.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


NAME_PARTS = (
    "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
)  # fmt: skip
MAX_EMAILS = 20


class ScimName(_Lenient):
    formatted: Text | None = Field(default=None, max_length=200)
    family_name: Text | None = Field(default=None, alias="familyName", max_length=200)
    given_name: Text | None = Field(default=None, alias="givenName", max_length=200)
    middle_name: Text | None = Field(default=None, alias="middleName", max_length=200)
    honorific_prefix: Text | None = Field(default=None, alias="honorificPrefix", max_length=200)
    honorific_suffix: Text | None = Field(default=None, alias="honorificSuffix", max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, NAME_PARTS)


class ScimEmail(_Lenient):
    value: Text = Field(max_length=320)
    type: Text | None = Field(default=None, max_length=50)
    # Kept as sent: absent stays absent (not false).
    primary: ScimBool | None = None
    display: Text | None = Field(default=None, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, ("value", "type", "primary", "display"))


class ScimEnterprise(_Lenient):
    employee_number: Text | None = Field(default=None, alias="employeeNumber", max_length=100)
    department: Text | None = Field(default=None, max_length=200)
    manager: uuid.UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, ("employeeNumber", "department", "manager"))

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_id(cls, value: Any) -> Any:
        # Entra sends the manager's id as a bare string, Okta as {"value": id}; $ref and
        # displayName are derived from the id, so only checked to be text.
        if isinstance(value, dict):
            value = _case_insensitive(value, ("value", "$ref", "displayName"))
            if any(not isinstance(value.get(k), str | None) for k in ("$ref", "displayName")):
                raise ValueError("$ref and displayName must be strings")
            value = value.get("value")
        return None if value in ("", None) else value


class ScimUserIn(_Lenient):
    user_name: Name = Field(alias="userName")
    external_id: Text | None = Field(default=None, alias="externalId", max_length=200)
    name: ScimName | None = None
    display_name: Text | None = Field(default=None, alias="displayName", max_length=200)
    emails: list[ScimEmail] = Field(default=[], max_length=MAX_EMAILS)
    schemas: list[Reference] | None = None
    active: ScimBool | None = True  # null: unassigned, as when left out
    title: Text | None = Field(default=None, max_length=200)
    locale: Text | None = Field(default=None, max_length=35)
    preferred_language: Text | None = Field(default=None, alias="preferredLanguage", max_length=35)
    enterprise: ScimEnterprise | None = Field(default=None, alias=ENTERPRISE_SCHEMA)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, USER_SHAPE.attributes + USER_SHAPE.extensions)

    @field_validator("emails", mode="before")
    @classmethod
    def _no_emails(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("emails")
    @classmethod
    def _one_primary(cls, value: list[ScimEmail]) -> list[ScimEmail]:
        # RFC 7643 §2.4: "primary" true appears no more than once.
        if sum(1 for email in value if email.primary) > 1:
            raise ValueError("at most one address may be primary")
        return value

    def primary_email(self) -> str | None:
        """The primary address, else the work one, else the first."""
        ranked = sorted(
            self.emails, key=lambda e: (not e.primary, (e.type or "").lower() != "work")
        )
        return ranked[0].value if ranked else None

    def best_display_name(self) -> str:
        if self.display_name:
            return self.display_name
        if self.name is not None:
            if self.name.formatted:
                return self.name.formatted
            parts = [self.name.given_name, self.name.family_name]
            if any(parts):
                return " ".join(part for part in parts if part)
        return self.user_name


class ScimMember(_Lenient):
    value: uuid.UUID
    # Derived from the member (ignored), only checked to be text.
    ref: Reference | None = Field(default=None, alias="$ref")
    display: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, ("value", "$ref", "display"))


class ScimGroupIn(_Lenient):
    schemas: list[Reference] | None = None
    display_name: Name = Field(alias="displayName")
    external_id: Text | None = Field(default=None, alias="externalId", max_length=200)
    members: list[ScimMember] = []

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        return _case_insensitive(data, GROUP_SHAPE.attributes)

    @field_validator("members", mode="before")
    @classmethod
    def _no_members(cls, value: Any) -> Any:
        return [] if value is None else value


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], document: Any) -> M:
    """Validate a SCIM body; a bad one is a SCIM 400 naming each offending attribute."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise bad_request("invalidValue", f"The resource is not valid: {problems}.") from exc


def _timestamp(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


def user_document(person: Person, emails: Sequence[PersonEmail]) -> dict[str, Any]:
    """The mutable attributes of a user, as a PUT body would hold them (PATCH works on it):
    each as it was sent."""
    document: dict[str, Any] = {
        "userName": person.user_name,
        "externalId": person.external_id,
        "name": {
            "formatted": person.name_formatted,
            "familyName": person.family_name,
            "givenName": person.given_name,
            "middleName": person.middle_name,
            "honorificPrefix": person.honorific_prefix,
            "honorificSuffix": person.honorific_suffix,
        },
        "displayName": person.scim_display_name,
        "emails": [
            {"value": e.value, "type": e.type, "primary": e.primary, "display": e.display}
            for e in sorted(emails, key=lambda e: e.position)
        ],
        "active": person.active,
        "title": person.title,
        "locale": person.locale,
        "preferredLanguage": person.preferred_language,
        ENTERPRISE_SCHEMA: {
            "employeeNumber": person.employee_number,
            "department": person.department,
            "manager": {"value": str(person.manager_id)} if person.manager_id else None,
        },
    }
    return document


def _drop_nulls(value: Any) -> Any:
    """Unassigned attributes are left out (RFC 7643 §2.5), a complex one with nothing set too."""
    if isinstance(value, dict):
        kept = {k: _drop_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def user_resource(
    person: Person, *, emails: Sequence[PersonEmail], groups: list[Group], base_url: str
) -> dict[str, Any]:
    location = f"{base_url}/Users/{person.id}"
    manager = person.manager_id
    resource = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": str(person.id),
        **user_document(person, emails),
        "groups": [
            {"value": str(g.id), "display": g.display_name, "$ref": f"{base_url}/Groups/{g.id}"}
            for g in groups
        ],
        "meta": {
            "resourceType": "User",
            "created": _timestamp(person.created_at),
            "lastModified": _timestamp(person.updated_at),
            "location": location,
            "version": f'W/"{person.version}"',
        },
    }
    if manager is not None:
        resource[ENTERPRISE_SCHEMA]["manager"]["$ref"] = f"{base_url}/Users/{manager}"
    cleaned: dict[str, Any] = _drop_nulls(resource)
    return cleaned


def group_document(group: Group, *, members: list[Person]) -> dict[str, Any]:
    return {
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": [{"value": str(p.id), "display": p.display_name} for p in members],
    }


def group_resource(group: Group, *, members: list[Person], base_url: str) -> dict[str, Any]:
    document = group_document(group, members=members)
    for member in document["members"]:
        member["$ref"] = f"{base_url}/Users/{member['value']}"
    resource = {
        "schemas": [GROUP_SCHEMA],
        "id": str(group.id),
        **document,
        "meta": {
            "resourceType": "Group",
            "created": _timestamp(group.created_at),
            "lastModified": _timestamp(group.updated_at),
            "location": f"{base_url}/Groups/{group.id}",
        },
    }
    cleaned: dict[str, Any] = _drop_nulls(resource)
    return cleaned


def list_response(
    resources: list[dict[str, Any]], *, total: int, start_index: int
) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
