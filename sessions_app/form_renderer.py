"""The forms' renderer: Django's, except that a <select> is written in Python.

Django renders each <option> through a template of its own (an include and its
attributes' loop per option): a practitioner filter of a chain's 160
practitioners cost more than the page's queries. `render_select` writes the
same HTML, character for character, as django/forms/widgets/select.html with
select_option.html (tests/test_form_renderer.py compares the two); a widget
with templates of its own is rendered by its templates."""

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare name for True, nothing for False."""
    written = []
    for name, value in attrs.items():
        if value is True:
            written.append(f" {conditional_escape(name)}")
        elif value is not False:
            written.append(f' {conditional_escape(name)}="{conditional_escape(value)}"')
    return "".join(written)


def _text(value) -> str:
    """`{{ value }}`: localised (a date, a number), then escaped."""
    return conditional_escape(localize(template_localtime(value)))


def render_select(widget: dict) -> str | None:
    """The <select> of a widget's context, or None when an option has a template of its own."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                return None
            parts.append(
                f'\n  <option value="{conditional_escape(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"  # the option template's last line
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # every value above is escaped


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if template_name == SELECT:
            written = render_select(context["widget"])
            if written is not None:
                return written
        return super().render(template_name, context, request)
