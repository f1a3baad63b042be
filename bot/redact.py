"""Keeps a token out of log lines written by libraries that put it in URLs.

The Telegram Bot API puts the bot token in every URL, and python-telegram-bot logs its base
URLs at DEBUG (``cardsight -v``). The filter rewrites such records, traceback included,
before any handler formats them, so the token never reaches a log file or a terminal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

TELEGRAM_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Updater", "telegram.ext.Application")
"""python-telegram-bot loggers whose records can carry a Bot API URL."""


class RedactSecret(logging.Filter):
    """Replaces `secret` with `label` in a record's message and traceback."""

    def __init__(self, secret: str, label: str) -> None:
        super().__init__()
        self._secret = secret
        self._label = label

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, self._label), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self._secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self._secret, self._label)
        return True


def redact_in_logs(secret: str, label: str, loggers: Iterable[str]) -> RedactSecret:
    """Install one `RedactSecret` on each of `loggers`."""
    redact = RedactSecret(secret, label)
    for name in loggers:
        logging.getLogger(name).addFilter(redact)
    return redact
