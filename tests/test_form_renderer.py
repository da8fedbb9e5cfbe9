"""The forms' renderer writes a <select> in Python: the same HTML, character
for character, as Django's templates, whatever the options hold."""

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from sessions_app.form_renderer import FormRenderer
from sessions_app.models import Role
from sessions_app.side_effect_forms import SideEffectFilterForm

from .factories import make_user


class Everything(forms.Form):
    plain = forms.ChoiceField(choices=[("a", "A"), ("b", "B & <b>"), ("", "—")], initial="b")
    grouped = forms.ChoiceField(
        choices=[("Fruit", [("1", "Apple"), ("2", 'Pear "Williams"')]), ("3", "Loose"), ("Empty", [])],
        widget=forms.Select(attrs={"class": "form-select", "data-x": mark_safe('a"b'), "disabled": True, "k": False}),
    )
    several = forms.MultipleChoiceField(choices=[(1, "One"), (2, gettext_lazy("Two"))], initial=[1, 2])
    # Labels that are not text are written as the templates write them: localised.
    when = forms.ChoiceField(
        choices=[("d", dt.date(2024, 1, 5)), ("t", dt.time(9, 30)), ("n", 1234.5), (dt.date(2024, 2, 1), [("x", 7)])]
    )
    maybe = forms.NullBooleanField()
    who = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from sessions_app.models import User

        self.fields["who"].queryset = User.objects.order_by("pk")


@pytest.mark.django_db
@pytest.mark.parametrize("data", [None, {"plain": "zz", "grouped": "2", "several": ["2"], "maybe": "true"}])
def test_a_select_is_written_as_django_s_templates_write_it(data):
    make_user(Role.PRACTITIONER, first_name="Ann <i>", last_name="O'Brien & Co")
    ours, django = Everything(data, renderer=FormRenderer()), Everything(data, renderer=DjangoTemplates())
    for name in ours.fields:
        assert str(ours[name]) == str(django[name]), name
    assert "<option" in str(ours["who"]) and "O&#x27;Brien &amp; Co" in str(ours["who"])


@pytest.mark.django_db
def test_the_clinic_s_forms_render_as_before(rf):
    make_user(Role.PRACTITIONER, last_name="<script>")
    data = {"status": "all", "severity": "severe"}
    ours = SideEffectFilterForm(data, renderer=FormRenderer())
    django = SideEffectFilterForm(data, renderer=DjangoTemplates())
    assert ours.as_div() == django.as_div()
    assert "&lt;script&gt;" in ours.as_div()


def test_a_widget_with_option_templates_of_its_own_keeps_them():
    class Starred(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    class Form(forms.Form):
        x = forms.ChoiceField(choices=[("a", "A")], widget=Starred)

    ours = str(Form(renderer=FormRenderer())["x"])
    assert ours == str(Form(renderer=DjangoTemplates())["x"])
    assert 'type="select"' in ours  # input_option.html's, not an <option>
