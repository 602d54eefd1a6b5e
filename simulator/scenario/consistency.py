"""Checks across the parts of one scenario (duplicate ids, references between its parts, variables, whether it
can be played to a good outcome), reported as locations the loader turns into path:line:col."""

from __future__ import annotations

from simulator.errors import suggest
from simulator.scenario.base import VAR_RE
from simulator.scenario.model import ReferenceTrainee, Scenario, Variable
from simulator.scenario.vocabulary import Act, AuthoritySide, VariableKind

Loc = tuple[str | int, ...]


def internal_problems(s: Scenario) -> list[tuple[Loc, str]]:
    """Consistency problems inside one scenario: duplicate ids, references between its own parts, variables.

    Returns ``(location, message)`` pairs; the location is a path into the document such as
    ``("beats", 2, "after", 0)`` so the loader can point at the exact line.
    """
    out: list[tuple[Loc, str]] = []
    ex = s.expectations
    groups: list[tuple[str, Loc, list[str], str]] = [
        ("beat id", ("beats",), [b.id for b in s.beats], "id"),
        ("known fact key", ("known_facts",), [f.key for f in s.known_facts], "key"),
        ("unknown fact key", ("unknown_facts",), [f.key for f in s.unknown_facts], "key"),
        ("required fact id", ("expectations", "facts"), [f.id for f in ex.facts], "id"),
        ("step id", ("expectations", "steps"), [st.id for st in ex.steps], "id"),
        ("red line id", ("expectations", "red_lines"), [r.id for r in ex.red_lines], "id"),
    ]
    for label, base, ids, field in groups:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                out.append(((*base, i, field), f"duplicate {label} '{ident}' — give each a unique id"))
            seen.add(ident)
    beat_ids = [b.id for b in s.beats]
    fact_keys = [f.key for f in s.known_facts]
    for bi, b in enumerate(s.beats):
        for ai, a in enumerate(b.after):
            if a == b.id:
                out.append((("beats", bi, "after", ai), f"beat '{b.id}' cannot come after itself"))
            elif a not in beat_ids:
                out.append((("beats", bi, "after", ai), f"unknown beat '{a}'{suggest(a, beat_ids)}"))
        for ri, r in enumerate(b.reveals):
            if r not in fact_keys:
                out.append((("beats", bi, "reveals", ri), f"unknown known-fact key '{r}'{suggest(r, fact_keys)}"))
        for ti, t in enumerate(b.when):
            if t.act is Act.ASK and t.about and t.about not in fact_keys and not t.keywords and not t.examples:
                out.append(
                    (
                        ("beats", bi, "when", ti, "about"),
                        f"asks about '{t.about}', which is not a known fact, and gives no keywords or "
                        f"examples to recognise the question{suggest(t.about, fact_keys)}",
                    )
                )
    for fi, f in enumerate(ex.facts):
        if f.when_beat and f.when_beat not in beat_ids:
            out.append(
                (
                    ("expectations", "facts", fi, "when_beat"),
                    f"unknown beat '{f.when_beat}'{suggest(f.when_beat, beat_ids)}",
                )
            )
    step_ids = [st.id for st in ex.steps]
    for si, st in enumerate(ex.steps):
        for bi2, bf in enumerate(st.before):
            if bf not in step_ids:
                out.append(
                    (("expectations", "steps", si, "before", bi2), f"unknown step '{bf}'{suggest(bf, step_ids)}")
                )
    for loc, text in _texts(s):
        for name in VAR_RE.findall(text):
            if name not in s.variables:
                out.append((loc, f"uses {{{name}}} but no variable '{name}' is defined — add it under variables"))
    out += variant_problems(s)
    return out


def variant_problems(s: Scenario) -> list[tuple[Loc, str]]:
    """Variables and variant cases that could give an exam an inconsistent draw: a case naming an undeclared
    variable or a value the variable cannot take, an amount on the wrong side of the agent's authority limit."""
    out: list[tuple[Loc, str]] = []
    names = list(s.variables)
    for name, var in s.variables.items():
        for loc, value in _possible_values(name, var):
            problem = value_problem(s, var, value)
            if problem:
                out.append((loc, problem))
        if var.authority is not None and var.kind is VariableKind.INTEGER:
            limit = getattr(s.expectations.authority, var.authority.value)
            assert var.min is not None and var.max is not None
            lo, hi = var.min, var.max
            if var.side is AuthoritySide.WITHIN and hi > limit:
                out.append(
                    (
                        ("variables", name, "max"),
                        f"{hi} is above the agent's {var.authority.value} ({limit:g}) but side is 'within' — "
                        f"lower max to {limit:g} or set side: above",
                    )
                )
            if var.side is AuthoritySide.ABOVE and lo <= limit:
                out.append(
                    (
                        ("variables", name, "min"),
                        f"{lo} is not above the agent's {var.authority.value} ({limit:g}) but side is 'above' — "
                        f"raise min above {limit:g} or set side: within",
                    )
                )
    seen: set[str] = set()
    for ci, case in enumerate(s.variants):
        if case.id in seen:
            out.append((("variants", ci, "id"), f"duplicate variant id '{case.id}' — give each a unique id"))
        seen.add(case.id)
        for name, value in case.values.items():
            where: Loc = ("variants", ci, "values", name)
            declared = s.variables.get(name)
            if declared is None:
                out.append((where, f"unknown variable '{name}'{suggest(name, names)} — declare it under variables"))
                continue
            problem = value_problem(s, declared, value, in_case=True)
            if problem:
                out.append((where, problem))
    return out


def _possible_values(name: str, var: Variable) -> list[tuple[Loc, str]]:
    if var.kind is VariableKind.CHOICE:
        return [(("variables", name, "choices", i), c) for i, c in enumerate(var.choices)]
    return []


def value_problem(s: Scenario, var: Variable, value: str, *, in_case: bool = False) -> str | None:
    """Why ``value`` cannot be a value of ``var`` in scenario ``s`` (None when it can)."""
    v = str(value).strip()
    if var.kind is VariableKind.CHOICE and in_case and v not in var.choices:
        return f"'{v}' is not one of the variable's choices ({', '.join(var.choices)}) — add it there or fix it"
    if var.kind is VariableKind.INTEGER:
        if not v.lstrip("-").isdigit():
            return f"'{v}' is not a whole number"
        assert var.min is not None and var.max is not None
        if not var.min <= int(v) <= var.max:
            return f"{v} is outside the variable's range {var.min}…{var.max}"
    if var.kind is VariableKind.DIGITS and (not v.isdigit() or len(v) != var.length):
        return f"'{v}' is not {var.length} digits"
    if var.authority is not None:
        try:
            amount = float(v)
        except ValueError:
            return f"'{v}' is not an amount — an amount checked against {var.authority.value} must be a number"
        limit = getattr(s.expectations.authority, var.authority.value)
        if var.side is AuthoritySide.WITHIN and amount > limit:
            return f"{v} is above the agent's {var.authority.value} ({limit:g}) but side is 'within'"
        if var.side is AuthoritySide.ABOVE and amount <= limit:
            return f"{v} is not above the agent's {var.authority.value} ({limit:g}) but side is 'above'"
    return None


def playability_problems(s: Scenario) -> list[tuple[Loc, str, str]]:
    """Problems that would make a valid-looking scenario unplayable: ``(location, message, severity)``.

    Errors: a cycle in ``after`` (those beats can never fire), no way to reach a success outcome, reference
    trainees whose expected outcomes contradict the goal. Warnings: known facts no beat ever reveals.
    """
    out: list[tuple[Loc, str, str]] = []
    after = {b.id: set(b.after) for b in s.beats}
    for bi, b in enumerate(s.beats):
        # Depth-first search back through 'after' from this beat; meeting it again is a cycle.
        stack, seen = list(after.get(b.id, ())), set()
        while stack:
            cur = stack.pop()
            if cur == b.id:
                out.append(
                    (
                        ("beats", bi, "after"),
                        f"beat '{b.id}' waits for itself through 'after' — it can never fire",
                        "error",
                    )
                )
                break
            if cur not in seen:
                seen.add(cur)
                stack.extend(after.get(cur, ()))
    success = set(s.goal.success)
    if not any(b.outcome in success for b in s.beats) and s.end.on_max_turns not in success:
        wanted = ", ".join(o.value for o in s.goal.success)
        out.append(
            (
                ("goal", "success"),
                f"no beat ends with a success outcome ({wanted}) — add `outcome:` to the beat "
                "where the customer is satisfied",
                "error",
            )
        )
    revealed = {r for b in s.beats for r in b.reveals}
    for fi, f in enumerate(s.known_facts):
        if f.key not in revealed:
            out.append(
                (
                    ("known_facts", fi, "key"),
                    f"no beat reveals '{f.key}' — the customer can never tell it (add it to a beat's reveals)",
                    "warning",
                )
            )
    if s.references:
        for oi, o in enumerate(s.references.good.expect_outcome):
            if o not in success:
                out.append(
                    (
                        ("references", "good", "expect_outcome", oi),
                        f"'{o.value}' is not a success outcome of this "
                        "scenario (goal.success) — the good reference must succeed",
                        "error",
                    )
                )
        for oi, o in enumerate(s.references.bad.expect_outcome):
            if o in success:
                out.append(
                    (
                        ("references", "bad", "expect_outcome", oi),
                        f"'{o.value}' is a success outcome — the bad reference must not succeed",
                        "error",
                    )
                )
    return out


def _texts(s: Scenario) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = [(("opening", i), t) for i, t in enumerate(s.opening)]
    for i, f in enumerate(s.known_facts):
        out.append((("known_facts", i, "value"), f.value))
        out += [(("known_facts", i, "say", j), t) for j, t in enumerate(f.say)]
    for i, b in enumerate(s.beats):
        out += [(("beats", i, "say", j), t) for j, t in enumerate(b.say)]
    out += [(("end", "fallback", j), t) for j, t in enumerate(s.end.fallback)]
    if s.references:
        for side in ("good", "bad"):
            ref: ReferenceTrainee = getattr(s.references, side)
            out += [(("references", side, "replies", j), t) for j, t in enumerate(ref.replies)]
    out += [(("expectations", "facts", i, "statement"), f.statement) for i, f in enumerate(s.expectations.facts)]
    return out
