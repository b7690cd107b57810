"""P5, P6, D4: the pupil's record against the answers of a risk assessment.

A flag on the pupil's record (schools.Pupil) is what the school knows now; an earlier visit's
answer is only what was true then. So the record wins: it fills the answer whatever the last
assessment said, and a "no" against it is refused.

Animals (D4) may change: a dog is rehomed. A "no" against the record is accepted when the
planner says why in the animals details, so the authoriser reads the reason and the planner's
name is on it. Previous aggression (P5, P6) is history: it cannot stop being true, so a "no" is
always refused; a wrong record is corrected on the pupil's record, not on one visit's form
(as RiskAssessment.needs_two_staff_to_enter already reads the record).

No writes here: the form (visits/forms.py) and the service that records the answers ask.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordFlag:
    question: str  # the risk assessment's yes/no question
    flag: str  # the pupil's record
    says: str  # what the record says, in the school's words
    rules: str
    details: str  # the question's details field
    explainable: bool  # a "no" may stand if the details say why


RECORD_FLAGS = (
    RecordFlag(
        question="animals",
        flag="has_animals",
        says="there are animals at the home",
        rules="D4",
        details="animals_details",
        explainable=True,
    ),
    RecordFlag(
        question="previous_aggression",
        flag="previous_aggression",
        says="previous contact led to anger or aggression",
        rules="P5, P6",
        details="previous_aggression_details",
        explainable=False,
    ),
)


def flags_on_record(pupil):
    """The record's flags that are set for this pupil."""
    return [flag for flag in RECORD_FLAGS if getattr(pupil, flag.flag, False)]


def _explained(flag, answers):
    return flag.explainable and bool(str(answers.get(flag.details) or "").strip())


def answers_with_record(pupil, answers, *, own_answers=False):
    """`answers` (the last assessment's, or this visit's own) with the record's flags winning.

    A "no" stays only where it is this visit's own answer (`own_answers`) and was explained, as
    the planner was allowed to save it. What the record knows of other professionals fills the
    answer when it is blank; it never replaces what someone wrote.
    """
    answers = dict(answers)
    for flag in flags_on_record(pupil):
        if answers.get(flag.question) is True:
            continue
        if own_answers and answers.get(flag.question) is False and _explained(flag, answers):
            continue
        answers[flag.question] = True
    social_worker = (getattr(pupil, "social_worker_name", "") or "").strip()
    if social_worker and not str(answers.get("other_professionals") or "").strip():
        answers["other_professionals"] = social_worker
    return answers


def record_problems(pupil, answers):
    """{question: message} for each "no" the pupil's record contradicts and that may not stand."""
    problems = {}
    for flag in flags_on_record(pupil):
        if answers.get(flag.question) is not False or _explained(flag, answers):
            continue
        if flag.explainable:
            problems[flag.question] = (
                f"The pupil's record says {flag.says} ({flag.rules}). Answer yes, or say in the "
                "details below why there are none now (for example, the dog has been rehomed)."
            )
        else:
            problems[flag.question] = (
                f"The pupil's record says {flag.says} ({flag.rules}): answer yes. That history "
                "does not go away; if the record is wrong, ask the school admin to correct the "
                "pupil's record."
            )
    return problems
