#!/usr/bin/env python3
"""Extract from the OCSF schema repository the facts the OCSF validation test
needs: for each event class the mapping emits, and every object reachable from
it, the attributes with their type, array-ness, requirement, enum values and
profile; the classes' uids and profiles; the objects' constraints. Nothing
descriptive is copied.

    extract.py SCHEMA_REPO COMMIT CLASS... > ocsf-schema.json

It reads the files at COMMIT with git (the schema repository's tree as of
that commit), resolving `extends` (classes and objects), `$include` (profiles
and other attribute files) and the dictionary, as the OCSF server does:
an attribute's definition is the dictionary's, overridden by its class or
object; enum values are the dictionary's merged with the class's.
"""
import json
import subprocess
import sys


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True).stdout


def main():
    repo, commit, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    files = git(repo, "ls-tree", "-r", "--name-only", commit).decode().split("\n")

    def load(path):
        return json.loads(git(repo, "show", f"{commit}:{path}"))

    dictionary = load("dictionary.json")
    attrs_dict = dictionary["attributes"]
    types = dictionary["types"]["attributes"]
    version = load("version.json")["version"]
    categories = {k: v["uid"] for k, v in load("categories.json")["attributes"].items()}
    objects = {}
    events = {}
    for f in files:
        if f.startswith("objects/") and f.endswith(".json"):
            o = load(f)
            objects[o["name"]] = o
        elif f.startswith("events/") and f.endswith(".json"):
            e = load(f)
            events[e["name"]] = e

    def included(spec, owner):
        """A definition's own attributes with its $include files resolved;
        attributes of a profile are tagged with the profile's name."""
        out = {}
        for inc in spec.get("attributes", {}).get("$include", []):
            inc_def = load(inc)
            profile = inc_def["name"] if inc_def.get("meta") == "profile" else None
            for name, a in included(inc_def, owner).items():
                a = dict(a)
                if profile and "profile" not in a:
                    a["profile"] = profile
                out[name] = a
        for name, a in spec.get("attributes", {}).items():
            if name == "$include":
                continue
            merged = dict(out.get(name, {}))
            merged.update(a)
            out[name] = merged
        return out

    def resolved(spec, pool):
        chain = []
        while spec is not None:
            chain.append(spec)
            parent = spec.get("extends")
            spec = pool.get(parent) if parent else None
        out, constraints, profiles, category = {}, {}, [], None
        for s in reversed(chain):
            for name, a in included(s, s["name"]).items():
                merged = dict(out.get(name, {}))
                if "enum" in merged and "enum" in a:
                    enum = dict(merged["enum"])
                    enum.update(a["enum"])
                    a = dict(a, enum=enum)
                merged.update(a)
                out[name] = merged
            constraints.update(s.get("constraints", {}))
            for p in s.get("profiles", []):
                if p not in profiles:
                    profiles.append(p)
            category = s.get("category", category)
        return out, constraints, profiles, category

    def attribute(name, local):
        d = attrs_dict.get(name, {})
        typ = local.get("type", d.get("type"))
        enum = dict(d.get("enum", {}))
        enum.update(local.get("enum", {}))
        fact = {
            "type": typ,
            "requirement": local.get("requirement", d.get("requirement", "optional")),
        }
        if local.get("is_array", d.get("is_array")):
            fact["array"] = True
        if enum:
            fact["enum"] = sorted(int(k) if k.lstrip("-").isdigit() else k for k in enum)
        if local.get("profile"):
            fact["profile"] = local["profile"]
        return fact

    out_objects = {}

    def object_facts(name):
        if name in out_objects or name not in objects:
            return
        out_objects[name] = None
        attrs, constraints, _, _ = resolved(objects[name], objects)
        facts = {n: attribute(n, a) for n, a in sorted(attrs.items())}
        out_objects[name] = {"attributes": facts}
        if constraints:
            out_objects[name]["constraints"] = constraints
        for f in facts.values():
            object_facts(f["type"])

    out_classes = {}
    for name in wanted:
        attrs, constraints, profiles, category = resolved(events[name], events)
        facts = {n: attribute(n, a) for n, a in sorted(attrs.items())}
        cat = categories[category]
        uid = cat * 1000 + events[name]["uid"]
        # The dictionary leaves these to the class (the OCSF server fills
        # them in): the class's own values are the only valid ones.
        facts["class_uid"]["enum"] = [uid]
        facts["category_uid"]["enum"] = [cat]
        facts["type_uid"]["enum"] = [uid * 100 + a for a in facts["activity_id"]["enum"]]
        out_classes[name] = {
            "uid": uid,
            "category_uid": cat,
            "profiles": profiles,
            "attributes": facts,
        }
        if constraints:
            out_classes[name]["constraints"] = constraints
        for f in facts.values():
            object_facts(f["type"])

    base_types = {}
    for t, d in types.items():
        base_types[t] = d.get("type", t)
    sys.stdout.write(compact({
        "source": f"github.com/ocsf/ocsf-schema at {commit} (version {version}), extracted by testdata/extract.py",
        "version": version,
        "types": base_types,
        "classes": out_classes,
        "objects": {k: v for k, v in sorted(out_objects.items()) if v is not None},
    }))
    sys.stdout.write("\n")


def compact(o, indent=0):
    """JSON with one line per attribute: objects holding objects are
    spread over lines, the rest kept on one."""
    if isinstance(o, dict) and any(isinstance(v, dict) for v in o.values()):
        pad = " " * (indent + 1)
        items = [f"{pad}{json.dumps(k)}: {compact(v, indent + 1)}" for k, v in sorted(o.items())]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return json.dumps(o, sort_keys=True)


main()
