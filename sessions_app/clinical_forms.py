"""The practitioner's forms before treating: the screening questionnaire and
the client's consent."""

from dataclasses import dataclass, field

from crispy_bootstrap5.bootstrap5 import Switch
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms

from sessions_app.clearance import (
    ABSOLUTE,
    CAUTION,
    FAT_REDUCTION_QUESTIONS,
    IN_AREA,
    INDICATION,
    question_severity,
    questions_unanswered,
)
from sessions_app.models import Contraindication
from sessions_app.services.clinical import AnswerInput

YES_NO = [("no", "No"), ("yes", "Yes")]


@dataclass
class Question:
    """One question as the template lays it out: its fields, by role."""

    question: str
    label: str
    answer: forms.BoundField
    details: forms.BoundField
    areas: forms.BoundField | None = None
    judgement: forms.BoundField | None = None


@dataclass
class QuestionGroup:
    key: str
    title: str
    help: str
    questions: list[Question] = field(default_factory=list)
    optional: bool = False  # shown folded, may be left unanswered


GROUPS = {
    ABSOLUTE: ("rules-out", "Rules treatment out", "A yes: no treatment."),
    CAUTION: (
        "caution",
        "Calls for caution",
        "A yes: treatment waits for a physician's recorded judgement (why it is safe, the precautions).",
    ),
    IN_AREA: (
        "in-area",
        "In the area to be treated",
        "A yes: no treatment on the areas you name; other areas can be treated.",
    ),
    INDICATION: ("fat-reduction", "For fat reduction only", "A yes rules out fat reduction (body contouring)."),
}


class ScreeningForm(forms.Form):
    """The contraindication questionnaire, grouped by what a yes means
    (sessions_app.clearance.QUESTION_SEVERITY). Nothing is pre-answered: a
    question left unanswered is refused with the list of those left. A yes
    needs details; a condition in the area, its areas; a condition calling
    for caution takes a judgement, written by a physician only.

    The fat-reduction question is required when the client has a plan whose
    indication reduces fat (`ask_fat_reduction`); otherwise it is offered
    folded, and may be left out."""

    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, physician: bool, ask_fat_reduction: bool, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.physician = physician
        self.ask_fat_reduction = ask_fat_reduction
        self.groups: dict[str, QuestionGroup] = {}
        for severity, (key, title, help_text) in GROUPS.items():
            optional = severity == INDICATION and not ask_fat_reduction
            self.groups[severity] = QuestionGroup(key, title, help_text, optional=optional)
        if not physician:
            self.groups[CAUTION].help = "A yes: record the details; a physician records the judgement before treatment."
        area_choices = [(area.pk, area.name) for area in areas]  # read once for every question
        for question in Contraindication:
            severity = question_severity(question)
            self.fields[f"{question}_answer"] = forms.ChoiceField(
                label=question.label, choices=YES_NO, widget=forms.RadioSelect, required=False
            )
            self.fields[f"{question}_details"] = forms.CharField(
                label="Details", required=False, max_length=2000, widget=forms.TextInput()
            )
            if severity == IN_AREA:
                self.fields[f"{question}_areas"] = forms.ModelMultipleChoiceField(
                    label="Areas concerned", queryset=areas, required=False, widget=forms.CheckboxSelectMultiple
                )
                self.fields[f"{question}_areas"].choices = area_choices
            if severity == CAUTION and physician:
                self.fields[f"{question}_judgement"] = forms.CharField(
                    label="Your judgement (why treating is safe, precautions)",
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
        self.helper = FormHelper()
        self.helper.form_tag = False

    def question_groups(self) -> list[QuestionGroup]:
        """The groups with their questions' bound fields, in questionnaire order."""
        for group in self.groups.values():
            group.questions = []
        for question in Contraindication:
            group = self.groups[question_severity(question)]
            group.questions.append(
                Question(
                    question=question.value,
                    label=question.label,
                    answer=self[f"{question}_answer"],
                    details=self[f"{question}_details"],
                    areas=self[f"{question}_areas"] if f"{question}_areas" in self.fields else None,
                    judgement=self[f"{question}_judgement"] if f"{question}_judgement" in self.fields else None,
                )
            )
        return list(self.groups.values())

    def _answered(self, data: dict) -> list[str]:
        return [q.value for q in Contraindication if data.get(f"{q}_answer") in ("yes", "no")]

    def required_extra(self) -> frozenset[str]:
        return FAT_REDUCTION_QUESTIONS if self.ask_fat_reduction else frozenset()

    def clean(self):
        data = super().clean()
        left = questions_unanswered(self._answered(data), required_extra=self.required_extra())
        for question in left:
            self.add_error(f"{question}_answer", "Answer yes or no.")
        if left:
            names = ", ".join(Contraindication(q).label for q in left)
            self.add_error(
                None, f"{len(left)} question{'s are' if len(left) > 1 else ' is'} not answered yet: {names}."
            )
        for question in Contraindication:
            if data.get(f"{question}_answer") != "yes":
                continue
            if not (data.get(f"{question}_details") or "").strip():
                self.add_error(f"{question}_details", "Say what: a yes needs details.")
            if f"{question}_areas" in self.fields and not data.get(f"{question}_areas"):
                self.add_error(f"{question}_areas", "Tick the areas it concerns.")
        return data

    def answers(self) -> list[AnswerInput]:
        """The questions answered, as the service takes them."""
        data = self.cleaned_data
        return [
            AnswerInput(
                question=q,
                yes=data[f"{q}_answer"] == "yes",
                details=data.get(f"{q}_details", ""),
                judgement=data.get(f"{q}_judgement", ""),
                areas=tuple(data.get(f"{q}_areas") or ()),
            )
            for q in self._answered(data)
        ]


class JudgementForm(forms.Form):
    """A physician's judgement of each yes of a screening that calls for caution."""

    def __init__(self, *args, answers, **kwargs):
        super().__init__(*args, **kwargs)
        self.answers = list(answers)
        for answer in self.answers:
            self.fields[f"judgement_{answer.pk}"] = forms.CharField(
                label=f"{answer.get_question_display()}: your judgement (why treating is safe, precautions)",
                required=False,
                max_length=2000,
                initial=answer.judgement,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def rows(self) -> list[tuple]:
        """(answer, its judgement field), for the template."""
        return [(a, self[f"judgement_{a.pk}"]) for a in self.answers]

    def judgements(self) -> list[tuple[int, str]]:
        """(answer id, judgement) for each judgement written or changed."""
        return [
            (a.pk, text)
            for a in self.answers
            if (text := self.cleaned_data[f"judgement_{a.pk}"].strip()) and text != a.judgement
        ]


class ConsentForm(forms.Form):
    signed_name = forms.CharField(label="Client's full name, typed by the client", max_length=160)
    agreed = forms.BooleanField(
        label="I have read and understood this text and agree to the treatment plan", required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agreed"].error_messages["required"] = "The client must tick the box to agree."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout("signed_name", Switch("agreed"))
        self.helper.add_input(Submit("sign", "Sign"))

    def clean_signed_name(self):
        name = self.cleaned_data["signed_name"].strip()
        if not name:
            raise forms.ValidationError("The client must type their name.")
        return name
