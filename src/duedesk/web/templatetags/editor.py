"""The block editor's field: a label, the input, its hint and errors (web/workflows/_field.html, written
out in Python: the editor shows a hundred and fifty fields, and an include each cost more than the rest of
the page)."""

from django import template
from django.utils.safestring import mark_safe

from duedesk.web.block_forms import escape

register = template.Library()


@register.simple_tag
def field_row(field, cls=""):
    hint = getattr(field, "help_text", "")
    hint = f'<p class="hint" id="{escape(field.auto_id)}_helptext">{escape(hint)}</p>' if hint else ""
    errors = "".join(f'<p class="error">{escape(e)}</p>' for e in getattr(field, "errors", ()))
    return mark_safe(f'<div class="field{" " + escape(cls) if cls else ""}">\n'
                     f'  <label for="{escape(getattr(field, "id_for_label", ""))}">{escape(getattr(field, "label", ""))}</label>\n'
                     f"  {escape(field)}\n  {hint}\n  {errors}\n</div>\n")
