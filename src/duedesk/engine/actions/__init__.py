"""Every state change of the engine, one function per verb, in a module per noun. Each runs in a
transaction and writes its Event. Views, webhooks, the worker and the simulator call these; they never
write models directly.

`from duedesk.engine import actions; actions.record_payment(...)` is the way to call them: this package
re-exports every verb.
"""

from duedesk.engine.actions.blocks import run_branch, run_update, values_for
from duedesk.engine.actions.contacts import (
    create_contact,
    keep_contact_fields,
    record_conversation,
    set_contact_fields,
    set_outreach,
    update_contact,
)
from duedesk.engine.actions.enrollments import (
    CLOSED_INVOICE,
    _cancel_pending,
    complete_step,
    enroll_invoice,
    exit_invoice_enrollments,
    finish_enrollment,
    go_to_step,
    move_to_version,
    pending_steps,
    plan_retry,
    replan_invoice,
    route_outcome,
    start_on_event,
    step_key,
)
from duedesk.engine.actions.handoffs import assign_handoff, close_handoff, open_handoff, reopen_handoff
from duedesk.engine.actions.invoices import (
    CLOSED_TO_PAYMENTS,
    InvoiceClosed,
    PaymentNotUndone,
    create_invoice,
    mark_invoice_paid,
    pause_invoice,
    pay_link,
    record_payment,
    record_refund,
    replace_instalments,
    set_invoice_status,
    settle_instalments,
    undo_payment,
    update_invoice,
)
from duedesk.engine.actions.lines import (
    give_consent,
    lock_line,
    mark_unreachable,
    opt_in,
    opt_out,
    record_line_type,
    record_line_types,
    revoke_consent,
)
from duedesk.engine.actions.notices import run_notify
from duedesk.engine.actions.promises import mark_promise_broken, record_promise

__all__ = [
    "create_contact", "create_invoice", "keep_contact_fields", "pay_link", "set_contact_fields", "update_contact",
    "CLOSED_INVOICE", "CLOSED_TO_PAYMENTS", "InvoiceClosed", "PaymentNotUndone", "undo_payment", "_cancel_pending", "complete_step", "enroll_invoice", "exit_invoice_enrollments",
    "finish_enrollment", "give_consent", "go_to_step", "move_to_version", "lock_line", "mark_invoice_paid", "mark_promise_broken", "mark_unreachable",
    "open_handoff", "assign_handoff", "close_handoff", "reopen_handoff", "replace_instalments", "opt_in", "opt_out", "pause_invoice",
    "pending_steps", "plan_retry", "record_conversation",
    "record_line_type", "record_line_types", "record_payment", "record_refund", "record_promise", "replan_invoice", "revoke_consent", "route_outcome", "run_branch", "run_notify", "run_update",
    "set_invoice_status", "set_outreach", "settle_instalments", "start_on_event", "step_key", "update_invoice", "values_for",
]
