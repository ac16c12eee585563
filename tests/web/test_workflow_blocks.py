"""The workflow block editor: every shipped workflow read into blocks and written back means the same; the
buttons (add, move, duplicate, remove) work without JavaScript; the preview runs on the unsaved draft with
the real message and local times; publishing asks what running invoices do, and moving them happens at
their next step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from duedesk import workflows
from duedesk.core import workflow as wf
from duedesk.web import block_forms, blocks

pytestmark = pytest.mark.django_db

URL = "/workflows/payment-reminders/"


@pytest.mark.parametrize("name", workflows.names())
def test_every_shipped_workflow_reads_into_blocks_and_back_meaning_the_same(name):
    text = workflows.read(name)
    editor = block_forms.read(block_forms.data_for(blocks.from_yaml(text)))
    assert editor.is_valid(), [f.errors for f in editor.forms if f.errors]
    written = blocks.to_yaml(editor.draft())
    assert wf.check(written) == []
    assert blocks.meaning(wf.parse(written)) == blocks.meaning(wf.parse(text))
    # And once more: what the blocks wrote reads back into the same blocks.
    assert blocks.to_yaml(blocks.from_yaml(written)) == written


def test_texts_that_yaml_would_read_as_more_stay_text():
    source = """name: "yes: no"
steps:
  - id: mark
    update: {contact.fields.vip: "yes", contact.fields.code: "007", enrollment.tries: 2, enrollment.x: null}
  - id: hello
    sms: hello
    note: "# not a comment"
templates:
  hello:
    en: "Hi: this is {{ org.name }}, #1 in town"
"""
    written = blocks.to_yaml(blocks.from_yaml(source))
    assert blocks.meaning(wf.parse(written)) == blocks.meaning(wf.parse(source))


COMMENTED = """# Our reminders, as the office wrote them.
name: 'Short reminders'   # what staff see

# Replies between steps.
on_reply: {promised: thanks, dispute: person}

steps:
  # First, a friendly text.
  - id: reminder
    sms: reminder   # the text below
    at: due_date - 3d

  # Then we wait five days.
  - id: pause
    wait: 5d   # five days is enough

  - id: call
    call: late_call
    retry: {attempts: 2, every: 1d}
    on:
      promised: thanks
      # anything else goes on
    note: 'A polite call.'

  # A person takes over.
  - id: person
    handoff: request_human
    next: end

  - id: thanks
    sms: thanks
    at: promise.date

# The messages.
templates:
  reminder:
    # English is the fallback.
    en: "Hi, this is {{ org.name }}: {{ invoice.amount }} is due {{ invoice.due_date }}. {{ invoice.pay_link }}"
  thanks:
    en: >-
      Thank you, {{ org.name }} will look for your
      payment.
"""


@pytest.mark.parametrize("name", [*workflows.names(), "commented"])
def test_blocks_written_over_the_text_they_were_read_from_give_it_back_byte_for_byte(name):
    from duedesk.web import layout

    text = COMMENTED if name == "commented" else workflows.read(name)
    draft = blocks.from_yaml(text)
    assert blocks.to_yaml_over(draft, text) == text
    # Not only because nothing changed: every step gone through, none kept whole, the same bytes.
    origins = [b.key for b in draft.blocks]
    assert layout.over(text, blocks.to_yaml(draft), origins, same_steps=set()) == text


@pytest.mark.parametrize("edit", ["note", "time", "rename", "up", "down"])
def test_every_comment_stays_whatever_one_block_is_edited(edit):
    comments = [line.strip() for line in COMMENTED.splitlines() if line.strip().startswith("#")]
    for key in [b.key for b in blocks.from_yaml(COMMENTED).blocks]:
        draft = blocks.from_yaml(COMMENTED)
        keys = [b.key for b in draft.blocks]
        i = keys.index(key)
        block = draft.blocks[i]
        if edit == "note":
            block.note = "" if block.note else "A note for staff."
        elif edit == "time":
            block.at = "9d" if block.kind == "wait" else "due_date + 2d"
        elif edit == "rename":
            block.name += " again"
        elif edit == "up" and i:
            draft.blocks[i - 1:i + 1] = [block, draft.blocks[i - 1]]
        elif edit == "down" and i + 1 < len(keys):
            draft.blocks[i:i + 2] = [draft.blocks[i + 1], block]
        written = blocks.to_yaml_over(draft, COMMENTED)
        assert blocks.meaning(wf.parse(written)) == blocks.meaning(wf.parse(blocks.to_yaml(draft)))
        assert [c for c in comments if c not in written] == [], (edit, key)


def _changed_lines(before: str, after: str) -> list[str]:
    import difflib

    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_a_wait_changed_from_5_to_7_days_in_the_blocks_changes_only_that_line(login, staff, org):
    from duedesk.engine import definitions
    from duedesk.engine.models import Workflow

    definitions.save_version(org, "payment-reminders", COMMENTED)
    client = login(staff)
    page = client.get(URL)
    assert page.context["base"] == COMMENTED and 'name="base"' in page.content.decode()
    data = _draft_post(COMMENTED, op="publish", base=COMMENTED)
    pause = next(k[:-4] for k, v in data.items() if k.endswith("-key") and v == "pause")
    data[f"{pause}-when_n"] = "7"
    assert client.post(URL, data).status_code == 302
    published = Workflow.objects.filter(organization=org).order_by("-version").first().source
    assert _changed_lines(COMMENTED, published) == ["-    wait: 5d   # five days is enough",
                                                    "+    wait: 7d   # five days is enough"]


def test_a_commented_workflow_edited_through_blocks_keeps_every_comment(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    # Written as text (comments and all), then edited as blocks: the text is what the blocks write over.
    as_blocks = client.post(URL, {"source": COMMENTED, "op": "blocks"})
    assert as_blocks.context["view"] == "blocks" and as_blocks.context["base"] == COMMENTED
    data = _draft_post(COMMENTED, op="up:call", base=COMMENTED.replace("\n", "\r\n"))  # as a browser posts it
    moved = client.post(URL, data)
    assert _blocks(moved)[:3] == ["Reminder", "Call", "Pause"]
    data = block_forms.data_for(moved.context["editor"].draft())
    key = {v: k[:-4] for k, v in data.items() if k.endswith("-key")}
    data.update({"op": "publish", "base": moved.context["base"], f"{key['pause']}-when_n": "7",
                 f"{key['reminder']}-text_es": "Hola, le escribe {{ org.name }}: su saldo vence pronto.",
                 f"{key['thanks']}-text_en": "Thank you, {{ org.name }} will look for your payment soon."})
    data.pop(f"{key['call']}-on_promised")
    assert client.post(URL, data).status_code == 302
    published = Workflow.objects.filter(organization=org).order_by("-version").first().source
    comments = [line.split("#", 1)[1] for line in COMMENTED.splitlines() if "#" in line]
    assert [c for c in comments if c not in published] == []
    definition = wf.parse(published)
    assert [s.id for s in definition.steps] == ["reminder", "call", "pause", "person", "thanks"]
    assert definition.step("pause").at.duration == timedelta(days=7) and not definition.step("call").on
    assert "  - id: call\n    call: late_call\n    retry: {attempts: 2, every: 1d}\n" in published
    assert "    es: \"Hola, le escribe {{ org.name }}: su saldo vence pronto.\"\n" in published
    assert "    en: >-\n      Thank you, {{ org.name }} will look for your payment soon.\n" in published
    assert published.count("\n\n") == COMMENTED.count("\n\n")  # the blank lines between the steps stay


def _draft_post(source: str, **extra) -> dict:
    data = block_forms.data_for(blocks.from_yaml(source))
    data.update(extra)
    return data


def _blocks(response) -> list[str]:
    return [f.name_value() for f in response.context["editor"].ordered()]


def test_the_page_shows_blocks_with_names_in_words(login, staff, org):
    page = login(staff).get(URL)
    assert page.status_code == 200
    names = _blocks(page)
    assert names[:3] == ["Heads up", "Past due", "Late call"]
    html = page.content.decode()
    assert 'aria-label="Move up: Late call"' in html and "What each answer leads to" in html
    # Branch targets are chosen from a list of the blocks, by name.
    assert '<option value="promise_broken">Promise broken</option>' in html


def test_buttons_move_duplicate_add_and_remove_blocks_without_javascript(login, staff, org):
    client = login(staff)
    source = workflows.read("default")
    moved = client.post(URL, _draft_post(source, op="up:late_call"))
    assert moved.status_code == 200 and _blocks(moved)[:3] == ["Heads up", "Late call", "Past due"]
    down = client.post(URL, _draft_post(source, op="down:heads_up"))
    assert _blocks(down)[:2] == ["Past due", "Heads up"]
    copied = client.post(URL, _draft_post(source, op="dup:heads_up"))
    assert _blocks(copied)[:2] == ["Heads up", "Heads up copy"]
    added = client.post(URL, _draft_post(source, op="add", add_kind="email"))
    assert _blocks(added)[-1] == "New email"
    removed = client.post(URL, _draft_post(source, op="remove:to_person"))
    assert "To person" not in _blocks(removed)
    editor = removed.context["editor"]
    assert editor.is_valid()
    # What led to the removed block now goes on to the block below.
    assert "to_person" not in blocks.to_yaml(editor.draft())
    from duedesk.engine.models import Workflow

    assert Workflow.objects.filter(organization=org).count() == 1  # nothing published by editing


def test_order_fields_from_a_drag_are_the_order_published(login, staff, org):
    from duedesk.engine.models import Workflow

    data = _draft_post(workflows.read("default"), op="publish", running="stay")
    data["b0-order"], data["b2-order"] = "2", "0"  # the late call dragged to the top
    response = login(staff).post(URL, data)
    assert response.status_code == 302
    latest = Workflow.objects.filter(organization=org).order_by("-version").first()
    assert wf.parse(latest.source).first().id == "late_call"


def test_a_wait_changed_in_its_form_and_a_spanish_text_added(login, staff, org):
    from duedesk.engine.models import Workflow

    source = workflows.read("rent")
    data = _draft_post(source, op="publish")
    wait = next(k[:-4] for k, v in data.items() if k.endswith("-key") and v == "wait_for_reply")
    assert (data[f"{wait}-when"], data[f"{wait}-when_n"], data[f"{wait}-when_unit"]) == ("after", "3", "d")
    data[f"{wait}-when_n"] = "7"
    data["b0-text_es"] = ""  # a blank Spanish text is no Spanish text
    response = login(staff).post(URL.replace("payment-reminders", "rent"), data)
    assert response.status_code == 404  # rent is not added yet
    from duedesk.engine import definitions

    definitions.add_ready(org, "rent")
    response = login(staff).post("/workflows/rent/", data)
    assert response.status_code == 302
    definition = wf.parse(Workflow.objects.filter(organization=org, slug="rent").order_by("-version")
                          .first().source)
    assert definition.step("wait_for_reply").at.duration == timedelta(days=7)
    assert "es" not in definition.templates["rent_reminder"]


def test_a_field_error_is_shown_beside_the_field_and_nothing_is_published(login, staff, org):
    from duedesk.engine.models import Workflow

    data = _draft_post(workflows.read("default"), op="publish")
    data["b0-when_n"] = "soon"
    data["b0-text_en"] = ""
    response = login(staff).post(URL, data)
    assert response.status_code == 400
    form = response.context["editor"].forms[0]
    assert form.errors["when_n"] and form.errors["text_en"]
    assert Workflow.objects.filter(organization=org).count() == 1


def test_a_problem_the_checker_finds_is_named_and_nothing_is_published(login, staff, org):
    from duedesk.engine.models import Workflow

    data = _draft_post(workflows.read("default"), op="publish")
    data["b0-text_en"] = "Hi {{ contact.first_name }}, pay {{ invoice.amount }}"  # a text may not name them
    response = login(staff).post(URL, data)
    assert response.status_code == 400
    assert any("“Heads up”" in p.message and "leave out" in p.message for p in response.context["problems"])
    assert Workflow.objects.filter(organization=org).count() == 1


def test_edit_as_text_shows_the_yaml_and_edit_as_blocks_reads_it_back(login, staff, org):
    client = login(staff)
    source = workflows.read("default")
    unchanged = client.post(URL, _draft_post(source, op="text"))
    assert unchanged.context["view"] == "text" and unchanged.context["source"] == source  # comments kept
    data = _draft_post(source, op="text")
    data["b0-when_n"] = "4"
    as_text = client.post(URL, data)
    assert "at: due_date - 4d" in as_text.context["source"]
    back = client.post(URL, {"source": as_text.context["source"], "op": "blocks"})
    assert back.context["view"] == "blocks"
    assert back.context["editor"].forms[0]["when_n"].value() == "4"


def test_the_preview_runs_on_the_unsaved_draft_with_the_message_and_local_time(login, staff, org):
    data = _draft_post(workflows.read("default"), due="2027-03-10", tz="America/Los_Angeles", language="es",
                       start="2027-02-20")
    data["b0-text_es"] = "Hola de {{ org.name }}: su saldo de {{ invoice.amount }} vence pronto."
    response = login(staff).post(URL + "preview/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    rows = response.context["preview_rows"]
    first = rows[0]
    assert first.name == "Heads up"
    assert first.local == "Mon, Mar 8, 9:00 AM PST"  # the 7th is a Sunday, outside the send window
    assert first.message.startswith("Hola de Maple Clinic: su saldo de $250.00 vence pronto.")
    html = response.content.decode()
    assert 'id="sample-heads_up-es" class="sample-text" hx-swap-oob="true">Hola de Maple Clinic' in html
    assert "heads_up" not in html.replace('id="sample-heads_up', "")


def test_the_preview_applies_the_offices_holidays(login, staff, org):
    from duedesk.records.models import Organization

    Organization.objects.filter(pk=org.pk).update(closed_dates=["2027-03-08"])
    data = _draft_post(workflows.read("default"), due="2027-03-10", tz="America/New_York", language="en",
                       start="2027-02-20")
    rows = login(staff).post(URL + "preview/", data).context["preview_rows"]
    assert rows[0].local == "Tue, Mar 9, 9:00 AM EST"
    assert rows[0].moved == ["a day the office is closed"]


def test_publishing_keeps_running_invoices_on_their_version_unless_asked(login, staff, org, make_invoice, clock):
    from duedesk.engine import actions
    from duedesk.engine.models import Workflow

    enrollment = actions.enroll_invoice(make_invoice(due=date(2026, 12, 20)), clock())
    client = login(staff)
    stay = client.post(URL, _draft_post(workflows.read("default"), op="publish"))
    assert stay.status_code == 302
    enrollment.refresh_from_db()
    assert "move_to" not in enrollment.data and enrollment.workflow.version == 1
    assert client.post(URL, _draft_post(workflows.read("default"), op="publish", running="move")).status_code == 302
    newest = Workflow.objects.filter(organization=org).order_by("-version").first()
    enrollment.refresh_from_db()
    assert enrollment.data["move_to"] == newest.pk and enrollment.workflow.version == 1


def test_a_moving_enrollment_finishes_its_step_then_goes_on_in_the_new_version(org, make_invoice, clock):
    from duedesk.engine import actions, definitions
    from duedesk.engine.models import Enrollment, Step
    from duedesk.records.models import Event

    enrollment = actions.enroll_invoice(make_invoice(due=date(2026, 12, 20)), clock())
    step = Step.objects.get(enrollment=enrollment, status="pending")
    assert step.step_id == "heads_up"
    newer = definitions.save_version(org, "payment-reminders", workflows.read("default").replace(
        "    wait: until due_date + 1d", "    wait: until due_date + 2d"))
    assert actions.move_to_version(newer, clock()) == 1
    actions.complete_step(step, "sent", clock())
    enrollment = Enrollment.objects.get(pk=enrollment.pk)
    assert enrollment.workflow_id == newer.pk and "move_to" not in enrollment.data
    waiting = Step.objects.get(enrollment=enrollment, status="pending")
    assert waiting.step_id == "past_due" and waiting.run_at.date() == date(2026, 12, 22)  # the new version's wait
    moved = Event.objects.get(kind="enrollment.moved")
    assert moved.detail["from_version"] == 1 and moved.detail["version"] == 2


def test_a_new_workflow_starts_as_one_text_block(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    response = client.post("/workflows/new/", {"name": "Dental reminders"})
    assert response.status_code == 302 and response["Location"] == "/workflows/dental-reminders/"
    again = client.post("/workflows/new/", {"name": "Dental reminders"})
    assert again["Location"] == "/workflows/dental-reminders-2/"
    page = client.get("/workflows/dental-reminders/")
    assert _blocks(page) == ["Reminder"]
    assert wf.parse(Workflow.objects.get(organization=org, slug="dental-reminders").source).name == "Dental reminders"
    assert client.post("/workflows/new/", {"name": " "}).status_code == 400


def test_a_viewer_reads_the_blocks_and_previews_the_saved_version(login, viewer, org):
    client = login(viewer)
    page = client.get(URL, {"due": "2027-03-10", "tz": "America/New_York", "language": "en"})
    html = page.content.decode()
    assert page.status_code == 200 and "Move up" not in html and "Check and publish" not in html
    assert 'form="preview-get"' in html and page.context["preview_rows"][0].name == "Heads up"
    assert client.get(URL, {"view": "text"}).context["source"].startswith("# duedesk's default workflow")


def test_the_block_editor_in_spanish(login, staff, org):
    client = login(staff)
    client.post("/account/", {"language": "es"})
    page = client.get(URL, {"due": "2027-03-10", "tz": "America/New_York", "language": "es"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Subir: Heads up" in html and "Editar como texto" in html and "3 días antes del vencimiento" in html
    assert "Revisar y publicar" in html and "Llamada (hasta 3 intentos)" in html


def test_a_stored_version_the_reader_now_refuses_opens_as_text_with_its_problems(login, staff, org):
    from duedesk.engine.models import Workflow

    Workflow.objects.filter(organization=org).update(source="name: Old\nsteps:\n  - id: a\n    sms: gone\n")
    page = login(staff).get(URL)
    assert page.status_code == 200 and page.context["view"] == "text" and page.context["problems"]


NOTIFYING = """\
name: Collections
steps:
  - id: heads_up
    sms: heads_up
    at: due_date - 3d
  # The agency reads the CRM's notes every morning.
  - id: to_collections
    notify: collections  # the agency's cue
    at: due_date + 30d
    next: end
    note: The agency reads it in the CRM
templates:
  heads_up:
    en: "{{ org.name }}: {{ invoice.amount }} is due on {{ invoice.due_date }}. Pay at {{ invoice.pay_link }}"
"""


def test_a_notify_block_reads_into_its_form_and_back_without_loss():
    draft = blocks.from_yaml(NOTIFYING)
    assert (draft.blocks[1].kind, draft.blocks[1].notice) == ("notify", "collections")
    editor = block_forms.read(block_forms.data_for(draft))
    assert editor.is_valid(), [f.errors for f in editor.forms if f.errors]
    form = editor.forms[1]
    assert str(form.kind_words()) == "Tell other systems"
    html = str(form["notice"])
    assert '<option value="collections" selected>Ready for collections</option>' in html
    assert '<option value="final_notice">Final notice sent</option>' in html
    written = blocks.to_yaml(editor.draft())
    assert "    notify: collections\n" in written and wf.check(written) == []
    assert blocks.meaning(wf.parse(written)) == blocks.meaning(wf.parse(NOTIFYING))
    changed = block_forms.data_for(draft)
    changed["b1-notice"] = "write_off_review"
    edited = block_forms.read(changed)
    assert edited.is_valid()
    rewritten = blocks.to_yaml(edited.draft())
    assert wf.parse(rewritten).step("to_collections").notice == "write_off_review"
    # Published over the text it was read from, only the notice's own line changes.
    assert blocks.to_yaml_over(edited.draft(), NOTIFYING) == NOTIFYING.replace(
        "notify: collections  #", "notify: write_off_review #")


def test_a_notice_block_added_with_its_button_is_published_with_the_notice_chosen(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    added = client.post(URL, _draft_post(workflows.read("default"), op="add", add_kind="notify"))
    assert added.status_code == 200 and _blocks(added)[-1] == "New notice"
    html = added.content.decode()
    assert '<option value="notify">Tell other systems</option>' in html and "What they are told" in html
    data = block_forms.data_for(added.context["editor"].draft())
    last = f"b{len(added.context['editor'].forms) - 1}"
    assert data[f"{last}-notice"] == "final_notice"
    data.update({f"{last}-notice": "colections", "op": "publish", "running": "stay"})
    refused = client.post(URL, data)
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert Workflow.objects.filter(organization=org).count() == 1
    data[f"{last}-notice"] = "call_list"
    assert client.post(URL, data).status_code == 302
    latest = Workflow.objects.filter(organization=org).order_by("-version").first()
    step = wf.parse(latest.source).step("new_notice")
    assert (step.kind, step.notice) == ("notify", "call_list")


def test_the_preview_shows_the_notice_in_words_at_the_patients_time(login, staff, org):
    data = _draft_post(NOTIFYING, due="2027-03-10", tz="America/Chicago", language="en", start="2027-02-20")
    response = login(staff).post(URL + "preview/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    row = next(r for r in response.context["preview_rows"] if r.kind == "notify")
    assert (row.name, row.what) == ("To collections", "Tell other systems: Ready for collections")
    assert row.local == "Fri, Apr 9, 12:00 AM CDT"  # 30 days after the due date; no send window for a notice
    assert "Tell other systems: Ready for collections" in response.content.decode()


def _prefix(data: dict, key: str) -> str:
    return next(k[:-4] for k, v in data.items() if k.endswith("-key") and v == key)


def test_a_decisions_conditions_are_picked_from_lists(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    html = client.get(URL).content.decode()
    # invoice.balance > 0: what it looks at, how it compares and the value, each chosen or typed in its field.
    assert '<label for="id_b7-if_field_0">Condition 1: what it looks at</label>' in html
    assert '<option value="invoice.balance" selected>Balance still owed</option>' in html
    assert '<option value="&gt;" selected>is more than</option>' in html
    assert 'name="b7-if_value_0" value="0"' in html
    # A note the workflow records is offered too; the values an outcome can take are listed for the value.
    assert '<option value="enrollment.broken_before">Noted on these reminders: Broken before</option>' in html
    assert '<datalist id="values-outcome"><option value="sent">Sent</option>' in html

    data = _draft_post(workflows.read("default"), op="publish")
    check = _prefix(data, "promise_check")
    data.update({f"{check}-if_field_0": "promise.status", f"{check}-if_op_0": "!=", f"{check}-if_value_0": "kept",
                 f"{check}-rows": "2", f"{check}-if_field_1": "outcome", f"{check}-if_op_1": "in",
                 f"{check}-if_value_1": "voicemail, no_answer", f"{check}-goto_1": "late_text"})
    assert client.post(URL, data).status_code == 302
    step = wf.parse(Workflow.objects.filter(organization=org).order_by("-version").first().source).step(
        "promise_check")
    assert [(b.condition, b.goto) for b in step.branches] == [
        ('promise.status != "kept"', "promise_broken"), ('outcome in ["voicemail", "no_answer"]', "late_text")]


def test_a_condition_the_pickers_cannot_say_is_written_and_kept_as_written(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    condition = 'promise.status != "kept" and not (contact.fields.plan == "gold")'
    data = _draft_post(workflows.read("default"), op="publish")
    check = _prefix(data, "promise_check")
    data.update({f"{check}-if_field_0": "written", f"{check}-if_0": condition})
    assert client.post(URL, data).status_code == 302
    source = Workflow.objects.filter(organization=org).order_by("-version").first().source
    assert wf.parse(source).step("promise_check").branches[0].condition == condition
    html = client.get(URL).content.decode()
    assert '<option value="written" selected>Something else, written as a condition</option>' in html
    assert 'value="promise.status != &quot;kept&quot; and not (contact.fields.plan == &quot;gold&quot;)"' in html
    # Picked again the way it was written ('es' or "es"), a condition keeps its spelling.
    source = workflows.read("default").replace("invoice.balance > 0", "contact.language == 'es'")
    data = _draft_post(source, op="text")
    assert "contact.language == 'es'" in client.post(URL, data).context["source"]


def test_a_condition_picked_wrong_is_refused_naming_the_field(login, staff, org):
    from duedesk.engine.models import Workflow

    client = login(staff)
    data = _draft_post(workflows.read("default"), op="publish")
    check = _prefix(data, "promise_check")
    data.update({f"{check}-if_value_0": "a lot", f"{check}-rows": "3",
                 f"{check}-if_field_1": "outcome", f"{check}-if_value_1": "maybe", f"{check}-goto_1": "late_text",
                 f"{check}-if_field_2": "written", f"{check}-if_2": "invoice.balance >", f"{check}-goto_2": "",
                 f"{check}-goto_3": "late_text"})
    response = client.post(URL, data)
    assert response.status_code == 400
    form = next(f for f in response.context["editor"].forms if f.key_value() == "promise_check")
    assert form.errors["if_value_0"] == ["“Balance still owed” is an amount: compare it with a number, like 0 "
                                          "or 120.00."]
    assert form.errors["if_value_1"][0].startswith("“Outcome of the block before” cannot be “maybe”; it is one of:")
    assert form.errors["if_2"][0].startswith("Condition 3: could not read the condition")
    assert form.errors["goto_2"] == ["Choose where to go when condition 3 is true."]
    assert form.errors["if_field_3"] == ["Choose what condition 4 looks at."]
    html = response.content.decode()
    assert "“Balance still owed” is an amount" in html
    assert Workflow.objects.filter(organization=org).count() == 1


def test_the_block_editor_reads_the_workflow_in_a_bounded_number_of_queries(login, staff, org,
                                                                             django_assert_num_queries):
    """The session, the user, the membership, the versions (listed and shown from one read) and the count of
    running invoices: nothing per block, nothing per version."""
    client = login(staff)
    assert client.get(URL).status_code == 200
    with django_assert_num_queries(5):
        page = client.get(URL + "?version=1")
    assert page.status_code == 200 and page.context["shown"].version == 1


def test_choices_shared_by_every_block_mark_each_blocks_own_choice():
    """The blocks' selects share one list of places to go, its options written once: each select still
    marks only its own choice, and reads as a select of its own options would."""
    items = [("", "—"), ("a", "Text <b> & “late”"), ("b", 'Call "b"'), ("a2", "a"), (wf.END, "Finish")]
    shared, own = block_forms.Select(), block_forms.Select()
    shared.choices, own.choices = block_forms.Choices(items), list(items)
    for value in ("a", "b", None, "", wf.END, "gone"):
        attrs = {"id": "id_x", "required": True, "aria-describedby": "x_helptext"}
        assert shared.render("x", value, attrs) == own.render("x", value, attrs)
    assert shared.render("x", "b").count(" selected") == 1
    assert '<option value="a" selected>' in shared.render("y", "a")
    assert shared.render("z", "gone").count(" selected") == 0


def test_a_version_opened_again_reads_as_it_did_for_each_user_language_and_version(login, staff, viewer, org, clock):
    """The blocks of a stored version are kept once written: opened again they read the same; a viewer, a
    Spanish reader and a newer version each get their own."""
    import re

    from duedesk.engine import definitions

    def page(client, **params):
        html = client.get(URL, params).content.decode()
        return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]*"', "", html)

    client = login(staff)
    first = page(client)
    assert page(client) == first and "3 days before the due date" in first and "Move up" in first
    assert "Move up" not in page(login(viewer))
    staff_client = login(staff)
    source = definitions.current(org, "payment-reminders").source
    assert "    at: due_date - 3d\n" in source
    definitions.save_version(org, "payment-reminders", source.replace("    at: due_date - 3d\n", "    at: due_date - 4d\n"),
                             user=staff, now=clock())
    newer = page(staff_client)
    assert "4 days before the due date" in newer and "3 days before the due date" not in newer
    assert "3 days before the due date" in page(staff_client, version="1")
    staff_client.post("/account/", {"language": "es"})
    assert "4 días antes del vencimiento" in page(staff_client)


def test_a_version_opened_again_builds_no_block_forms(login, staff, monkeypatch):
    """Its blocks are kept written out, so the editor's hundred and fifty fields are not built again just to be
    left unused (about a third of the page's time); the page reads the same."""
    import re

    def page(client):
        html = client.get(URL, {"version": "1"}).content.decode()
        return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]*"', "", html)

    client = login(staff)
    first = page(client)
    built = []
    read = block_forms.read
    monkeypatch.setattr(block_forms, "read", lambda data: built.append(1) or read(data))
    assert page(client) == first and built == [] and "3 days before the due date" in first
