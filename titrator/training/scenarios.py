"""Training scenarios checked against the product library and the reaction policy.

`simulator.scenario` validates a file on its own (it knows nothing of titrator); here the
product, indication and dose are checked against the library, every expected rule id against
the policy (or the engine's own ids), the patient's history against the first-infusion
rule, and the briefing and history against the indication (`indication_words`), so a
scenario that cannot play as written is refused before anyone starts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from simulator.scenario import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    ScenarioProblem,
    find_scenario,
    load_scenario,
    scenario_paths,
    scenario_sha256,
)
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Policy
from titrator.domain.session.prompts import LOT_RULE, RESUME_RULE, START_RULE, STEP_UP_RULE
from titrator.domain.setup import NEVER, InfusionSetup, RiskFactor, SetupInvalid, validate_setup
from titrator.domain.site import SiteLimits
from titrator.files.library import Library
from titrator.training.indication_words import indication_problems

ENGINE_RULE_IDS = frozenset(
    {START_RULE, STEP_UP_RULE, RESUME_RULE, LOT_RULE, "PAUSE-UNRESOLVED", "RECUR-AFTER-RESTART"}
)
"""Rule ids the engine itself cites (besides the policy's rules)."""

TRAINING_NURSE = "TRAINEE"
"""The nurse id pre-filled for a trainee."""


@dataclass(frozen=True)
class TrainingScenario:
    """A scenario that fits the library and policy in use.

    Attributes:
        scenario: the validated file.
        path: where it was read from.
        sha256: SHA-256 of the file (recorded in the training log).
    """

    scenario: Scenario
    path: Path
    sha256: str

    @property
    def id(self) -> str:
        """The scenario id."""
        return self.scenario.id

    def setup_raw(self, today: date) -> dict[str, str]:
        """The setup fields as a nurse would type them (the app's `setup_defaults`)."""
        s = self.scenario
        patient = s.patient
        last = (
            NEVER
            if patient.last_infusion_weeks_ago is None
            else (today - timedelta(weeks=patient.last_infusion_weeks_ago)).isoformat()
        )
        raw = {
            "nurse_id": TRAINING_NURSE,
            "patient_id_1": patient.patient_id_1,
            "patient_id_2": patient.patient_id_2,
            "weight_kg": str(patient.weight_kg),
            "product_id": s.infusion.product_id,
            "indication_id": s.infusion.indication_id,
            "dose_g_per_kg": str(s.infusion.dose_g_per_kg),
            "lot": s.infusion.lot,
            "last_infusion": "" if last == NEVER else last,
            "last_product_id": patient.last_product_id or NEVER,
        }
        if patient.height_cm is not None:
            raw["height_cm"] = str(patient.height_cm)
        if patient.sex is not None:
            raw["sex"] = patient.sex
        return raw

    def risk_factors(self) -> tuple[RiskFactor, ...]:
        """The patient's risk factors (to be ticked on the setup screen)."""
        return tuple(RiskFactor(r) for r in self.scenario.patient.risk_factors)

    def setup(self, library: Library, today: date, site: SiteLimits) -> InfusionSetup:
        """The setup exactly as the app's setup screen would validate it, marked as training.

        Raises:
            SetupInvalid: the scenario's patient does not pass the setup checks.
        """
        setup = validate_setup(
            self.setup_raw(today), self.risk_factors(), library.products, today, site
        )
        return mark_training(setup, self)

    def plan(self, library: Library, today: date, site: SiteLimits) -> Plan:
        """The plan the app would show for this patient."""
        setup = self.setup(library, today, site)
        return build_plan(setup.plan_request, library.product(setup.plan_request.product_id))


def mark_training(setup: InfusionSetup, scenario: TrainingScenario) -> InfusionSetup:
    """The setup with `training`, the scenario id and its SHA-256 added to the raw fields.

    `session_opened` records the setup in full, so every training log says so in its first
    engine event.
    """
    raw = {
        **setup.raw,
        "training": "true",
        "scenario_id": scenario.id,
        "scenario_sha256": scenario.sha256,
    }
    return setup.model_copy(update={"raw": raw})


def cross_problems(
    scenario: Scenario, library: Library, policy: Policy, today: date
) -> list[ScenarioProblem]:
    """What in a (valid) scenario file does not fit the library, the policy or the setup rules."""
    problems: list[ScenarioProblem] = []
    infusion = scenario.infusion
    product = library.products.get(infusion.product_id)
    if product is None:
        known = ", ".join(sorted(library.products))
        return [
            ScenarioProblem(
                "infusion.product_id",
                f"no such product (known: {known})",
                repr(infusion.product_id),
            )
        ]
    indication = product.indications.get(infusion.indication_id)
    if indication is None:
        return [
            ScenarioProblem(
                "infusion.indication_id",
                f"not an indication of {product.id} ({', '.join(sorted(product.indications))})",
                repr(infusion.indication_id),
            )
        ]
    problems.extend(indication_problems(scenario, library))
    rule_ids = {rule.id for rule in policy.rules} | ENGINE_RULE_IDS
    for index, expectation in enumerate(scenario.expect):
        for rule_id in expectation.rule_ids:
            if rule_id not in rule_ids:
                problems.append(
                    ScenarioProblem(
                        f"expect[{index}].rule_ids",
                        f"no rule {rule_id!r} in policy {policy.policy_id}",
                        repr(rule_id),
                    )
                )
    training = TrainingScenario(scenario, Path(f"{scenario.id}.toml"), "")
    try:
        setup = validate_setup(
            training.setup_raw(today),
            training.risk_factors(),
            library.products,
            today,
            SiteLimits(),
        )
    except SetupInvalid as invalid:
        for problem in invalid.problems:
            problems.append(
                ScenarioProblem(f"patient ({problem.field})", problem.reason, repr(problem.raw))
            )
        return problems
    if setup.plan_request.first_infusion != scenario.patient.first_infusion:
        why = "; ".join(setup.first_infusion_reasons) or "none of naive, switch, gap > 8 weeks"
        problems.append(
            ScenarioProblem(
                "patient.first_infusion",
                f"does not match the history (first-infusion reasons: {why})",
                str(scenario.patient.first_infusion).lower(),
            )
        )
    try:
        build_plan(setup.plan_request, product)
    except PlanError as error:
        problems.append(ScenarioProblem(f"infusion ({error.field})", error.reason))
    return problems


def load_training_scenario(
    name: str | Path,
    library: Library,
    policy: Policy,
    today: date,
    directory: Path = SCENARIO_DIR,
) -> TrainingScenario:
    """Find, read and cross-check a scenario (an id in `directory`, or a path).

    Raises:
        KeyError: no such scenario.
        ScenarioError: the file is invalid or does not fit the library and policy.
    """
    path = name if isinstance(name, Path) else find_scenario(name, directory)
    scenario = load_scenario(path)
    problems = cross_problems(scenario, library, policy, today)
    if problems:
        raise ScenarioError(path, problems)
    return TrainingScenario(scenario, path, scenario_sha256(path))


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    """Every scenario in `directory` (files that fail validation raise)."""
    return [load_scenario(path) for path in scenario_paths(directory)]
