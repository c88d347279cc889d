"""Polls API (being built)."""

from sanic import Blueprint

bp = Blueprint("polls")
