"""Documents a stranger might invent: random root fields under invented aliases and names."""

import random

from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from graph.schema import build_schema

SCHEMA = build_schema()._schema
ROOTS = [root for root in (SCHEMA.query_type, SCHEMA.mutation_type) if root is not None]


def _selection(root: GraphQLObjectType, name: str, alias: str) -> tuple[str, list[str]]:
    """`alias: name(args) { __typename }` and the variables it declares, none of them given."""
    field = root.fields[name]
    variables = [f"${alias}_{arg}: {field.args[arg].type}" for arg in field.args]
    arguments = ", ".join(f"{arg}: ${alias}_{arg}" for arg in field.args)
    call = f"{alias}: {name}({arguments})" if arguments else f"{alias}: {name}"
    leaf = is_leaf_type(get_named_type(field.type))
    return (call if leaf else f"{call} {{ __typename }}"), variables


def invented_document(rng: random.Random, index: int) -> str:
    """A distinct document: a random mix of root fields under invented aliases and names.

    One in five also selects a field the schema lacks; all declare variables they never
    send, so valid ones reach execution (and labelling) and stop at variable coercion.
    """
    root = rng.choice(ROOTS)
    names = rng.sample(sorted(root.fields), rng.randint(1, min(6, len(root.fields))))
    selections, variables = [], []
    for position, name in enumerate(names):
        selection, declared = _selection(root, name, f"x{index}_{position}")
        selections.append(selection)
        variables += declared
    if rng.random() < 0.2:
        selections.append(f"invented{index} {{ id }}")
    keyword = "query" if root is SCHEMA.query_type else "mutation"
    declared = f"({', '.join(variables)})" if variables else ""
    return f"{keyword} Op{index}_{rng.getrandbits(32)}{declared} {{ {' '.join(selections)} }}"
