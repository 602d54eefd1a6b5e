"""Simulated customers: the ``Customer`` protocol, the offline ``ScriptedCustomer`` and the ``LLMCustomer``."""

from simulator.customer.base import Customer, CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.factory import make_customer
from simulator.customer.llm import LLMCustomer
from simulator.customer.reference import play_reference, play_replies
from simulator.customer.scripted import ScriptedCustomer

__all__ = [
    "Customer",
    "CustomerMessage",
    "CustomerResponse",
    "LLMCustomer",
    "ScriptedCustomer",
    "TurnContext",
    "make_customer",
    "play_reference",
    "play_replies",
]
