"""The registered types, rebuilt from the registration chain as a normalized, JSON-serialisable dict.

The SDK registers a module as one chain of builder calls whose arguments are IDs of other chains:
``module.withDescription(...).withObject(object: <TypeDef ID>)``, a TypeDef being
``typeDef.withObject(name, description).withFunction(function: <Function ID>)...`` and a Function
``function(name, returnType: <TypeDef ID>).withDescription(...).withArg(name, typeDef: <TypeDef ID>,
...)``. Every step is interpreted here; a step this module does not know raises, so a new kind of
registration never silently drops out of the golden file.
"""

import json
from typing import Any

from platform_devkit.dagger_replay.chains import Chain


class UnknownRegistrationStepError(ValueError):
    """The registration used a builder call this reconstruction does not interpret."""


def _unknown(step: Chain) -> UnknownRegistrationStepError:
    where = f"{step.parent_type}.{step.field}"
    return UnknownRegistrationStepError(f"cannot interpret {where} in {step.describe(40)}")


def _ref(step: Chain, name: str) -> Chain:
    ref = step.refs[name]
    assert isinstance(ref, Chain), f"{step.field}({name}:) is a list"
    return ref


def type_ref(chain: Chain) -> dict[str, Any]:
    """Return a type reference (a return or argument type): ``kind``, ``name``, ``optional``, element type."""
    described = _type_def(chain)
    ref: dict[str, Any] = {key: described[key] for key in ("kind", "name", "optional")}
    if described["kind"] == "LIST_KIND":
        ref["elementType"] = described["elementType"]
    return ref


def _type_def(chain: Chain) -> dict[str, Any]:
    """Fold a ``typeDef...`` chain into every property it sets."""
    described: dict[str, Any] = {
        "kind": None,
        "name": None,
        "optional": False,
        "description": None,
        "deprecated": None,
        "fields": [],
        "constructor": None,
        "functions": [],
        "members": [],
    }
    kinds = {
        "withObject": "OBJECT_KIND",
        "withInterface": "INTERFACE_KIND",
        "withEnum": "ENUM_KIND",
        "withScalar": "SCALAR_KIND",
    }
    for step in chain.steps:
        args = step.args
        if step.field == "typeDef":
            continue
        if step.field == "withKind":
            described["kind"] = args["kind"]
        elif step.field == "withOptional":
            described["optional"] = bool(args["optional"])
        elif step.field == "withListOf":
            described["kind"] = "LIST_KIND"
            described["elementType"] = type_ref(_ref(step, "elementType"))
        elif step.field in kinds:
            described["kind"] = kinds[step.field]
            described["name"] = args["name"]
            described["description"] = args.get("description")
            described["deprecated"] = args.get("deprecated")
        elif step.field == "withField":
            described["fields"].append(
                {
                    "name": args["name"],
                    "type": type_ref(_ref(step, "typeDef")),
                    "description": args.get("description"),
                    "deprecated": args.get("deprecated"),
                }
            )
        elif step.field == "withFunction":
            described["functions"].append(function_def(_ref(step, "function")))
        elif step.field == "withConstructor":
            described["constructor"] = function_def(_ref(step, "function"))
        elif step.field == "withEnumMember":
            described["members"].append(
                {key: args.get(key) for key in ("name", "value", "description", "deprecated")}
            )
        else:
            raise _unknown(step)
    return described


def function_def(chain: Chain) -> dict[str, Any]:
    """Fold a ``function(name, returnType)...`` chain into the function's registered description.

    Argument default values are kept as the JSON text the SDK sent (``null`` when none was sent).
    """
    described: dict[str, Any] = {
        "name": None,
        "description": None,
        "returnType": None,
        "cachePolicy": None,
        "check": False,
        "generator": False,
        "up": False,
        "deprecated": None,
        "args": [],
    }
    for step in chain.steps:
        args = step.args
        if step.field == "function":
            described["name"] = args["name"]
            described["returnType"] = type_ref(_ref(step, "returnType"))
        elif step.field == "withDescription":
            described["description"] = args["description"]
        elif step.field == "withCachePolicy":
            described["cachePolicy"] = {"policy": args["policy"], "timeToLive": args.get("timeToLive")}
        elif step.field == "withDeprecated":
            described["deprecated"] = args.get("reason", "")
        elif step.field in {"withCheck", "withGenerator", "withUp"}:
            described[step.field.removeprefix("with").lower()] = True
        elif step.field == "withArg":
            described["args"].append(
                {
                    "name": args["name"],
                    "type": type_ref(_ref(step, "typeDef")),
                    "description": args.get("description"),
                    "defaultValue": args.get("defaultValue"),
                    "defaultPath": args.get("defaultPath"),
                    "defaultAddress": args.get("defaultAddress"),
                    "ignore": args.get("ignore"),
                    "deprecated": args.get("deprecated"),
                }
            )
        else:
            raise _unknown(step)
    return described


def _object_def(chain: Chain) -> dict[str, Any]:
    described = _type_def(chain)
    keys = ("name", "description", "deprecated", "fields", "constructor", "functions")
    return {key: described[key] for key in keys}


def module_typedefs(module: Chain) -> dict[str, Any]:
    """Return the module's registered description from its ``module...`` chain.

    Shape: ``description``, ``objects`` (name, description, deprecated, fields, constructor,
    functions), ``interfaces`` (the same) and ``enums`` (name, description, members).
    """
    described: dict[str, Any] = {"description": None, "objects": [], "interfaces": [], "enums": []}
    for step in module.steps:
        if step.field == "module":
            continue
        if step.field == "withDescription":
            described["description"] = step.args["description"]
        elif step.field == "withObject":
            described["objects"].append(_object_def(_ref(step, "object")))
        elif step.field == "withInterface":
            described["interfaces"].append(_object_def(_ref(step, "iface")))
        elif step.field == "withEnum":
            enum = _type_def(_ref(step, "enum"))
            described["enums"].append({key: enum[key] for key in ("name", "description", "members")})
        else:
            raise _unknown(step)
    return json.loads(json.dumps(described))
