"""Who answers for a payment problem (责任人), as subsidies knows them: the officer who prepared a cycle's list for a
coverage gap, the officer who approved the payment's cycle, or recorded a payment by hand, for a leak.

Subsidies knows officers by their login only (a token's subject): the login is also the name the event carries,
and the unit is the finance office (财政所) of the programme."""

from __future__ import annotations

from shared.contracts.accountability import ResponsiblePerson, ResponsibleRole


def finance_unit(policy_code: str) -> str:
    """The unit a payment officer answers in: the finance office, for the programme."""
    return f"财政所 {policy_code}"[:100]


def _officer(login: str, policy_code: str, role: ResponsibleRole) -> ResponsiblePerson:
    return ResponsiblePerson(person_id=login, name=login[:50], unit=finance_unit(policy_code), role=role)


def list_preparer(policy_code: str, *, computed_by: str | None, submitted_by: str | None) -> ResponsiblePerson | None:
    """Who prepared a cycle's list (who last computed it, else who submitted it): a coverage gap of a checked
    cycle is theirs. None when neither is known."""
    login = computed_by or submitted_by
    return _officer(login, policy_code, ResponsibleRole.PAYMENT_PREPARER) if login else None


def payment_responsible(
    policy_code: str, *, approved_by: str | None, paid_by: str, by_hand: bool
) -> ResponsiblePerson | None:
    """Who answers for a payment that leaked: who recorded it, for a payment by hand (no cycle approved it); who
    approved its cycle otherwise (None when the cycle records no approver)."""
    if by_hand:
        return _officer(paid_by, policy_code, ResponsibleRole.PAYMENT_PREPARER)
    return _officer(approved_by, policy_code, ResponsibleRole.PAYMENT_APPROVER) if approved_by else None
