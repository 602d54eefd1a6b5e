"""Simulated customers: the ``Customer`` protocol, the offline ``ScriptedCustomer`` and the ``LLMCustomer``."""

from simulator.customer.base import Customer, CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.factory import make_customer
from simulator.customer.llm import LLMCustomer
from simulator.customer.scripted import ScriptedCustomer
from simulator.customer.state import CustomerState

__all__ = [
    "Customer",
    "CustomerMessage",
    "CustomerResponse",
    "CustomerState",
    "LLMCustomer",
    "ScriptedCustomer",
    "TurnContext",
    "make_customer",
]
