"""Does a scenario's briefing say what its infusion is for? Its words checked against the order.

A trainee reads the briefing and the patient's history before the setup; a briefing saying
"she has CIDP" over an order for primary immunodeficiency (PI) teaches a wrong order as a
right one. The condition words of each indication are its library name
(the part before a comma or a parenthesis), its abbreviation in parentheses, and the common
diagnoses it covers (`DIAGNOSES`). The briefing and history together must name the ordered
indication, and must name no other indication and no secondary immunodeficiency, which no
product in the library is labelled for. Pure: text in, problems out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from simulator.scenario import Scenario, ScenarioProblem
from titrator.files.library import Library

DIAGNOSES: Final[dict[str, tuple[str, ...]]] = {
    "pi": (
        "primary immunodeficiency",
        "primary antibody deficiency",
        "common variable immunodeficiency",
        "CVID",
        "X-linked agammaglobulinaemia",
        "XLA",
        "specific antibody deficiency",
    ),
    "itp": ("immune thrombocytopenia",),
}
"""Diagnoses a nurse reads as the indication, besides its library name and abbreviation."""

NOT_INDICATIONS: Final = (
    "secondary immunodeficiency",
    "secondary hypogammaglobulinaemia",
    "secondary antibody deficiency",
)
"""Conditions no product in the library is labelled for (an order for PI does not fit them)."""

_ABBREVIATION = re.compile(r"\(([A-Z]{2,})\)")


def condition_words(library: Library) -> dict[str, tuple[str, ...]]:
    """Every indication id in the library, with the words that name its condition."""
    words: dict[str, set[str]] = {}
    for product in library.products.values():
        for key, indication in product.indications.items():
            found = words.setdefault(key, set(DIAGNOSES.get(key, ())))
            stem = re.split(r"[,(]", indication.name, maxsplit=1)[0].strip()
            if stem:
                found.add(stem)
            found.update(_ABBREVIATION.findall(indication.name))
    return {key: tuple(sorted(found, key=len, reverse=True)) for key, found in words.items()}


def _named(text: str, words: Iterable[str]) -> list[str]:
    """The words `text` names: abbreviations in capitals as whole words, the rest in any case."""
    named = []
    for word in words:
        flags = 0 if word.isupper() else re.IGNORECASE
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, flags):
            named.append(word)
    return named


def indication_problems(scenario: Scenario, library: Library) -> list[ScenarioProblem]:
    """Where the briefing or the history disagrees with `infusion.indication_id`."""
    ordered = scenario.infusion.indication_id
    vocabulary = condition_words(library)
    if ordered not in vocabulary:
        return []  # an unknown indication is reported by the cross-check itself
    texts = {"briefing": scenario.briefing, "patient.history": scenario.patient.history}
    order = f"the infusion is ordered for indication {ordered!r}"
    problems = []
    for field, text in texts.items():
        for key, words in sorted(vocabulary.items()):
            if key == ordered:
                continue
            for word in _named(text, words)[:1]:
                problems.append(ScenarioProblem(field, f"names {word}, but {order}", repr(text)))
        for word in _named(text, NOT_INDICATIONS):
            problems.append(ScenarioProblem(field, f"names {word}, but {order}", repr(text)))
    if not any(_named(text, vocabulary[ordered]) for text in texts.values()):
        says = ", ".join(vocabulary[ordered])
        problems.append(
            ScenarioProblem(
                "briefing",
                f"does not say what the infusion is for: the briefing or patient.history must "
                f"name indication {ordered!r} ({says})",
                repr(scenario.briefing.strip()),
            )
        )
    return problems
