"""The handlers: questions, button taps, inline queries, commands, and the error handler."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import logging
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.budget import escape_within
from bot.cards import Card, help_card, source_card, start_card, topics_card
from bot.conversation import after_fact
from bot.engine import Engine
from bot.knowledge_model import Fact
from bot.language import choose_language
from bot.logsetup import RedactingFilter
from bot.ratelimit import Decision
from bot.reloading import ReloadFailure
from bot.render_html import card_html, render_html
from bot.replies import reply_to, reply_to_fact
from bot.telegram.filters import strip_mention
from bot.telegram.keyboards import fact_for_callback, keyboard
from bot.telegram.question_log import log_question, record_unanswered, user_id_of
from bot.telegram.state import BotContext
from bot.unanswered import report as unanswered_report

logger = logging.getLogger(__name__)

REPLY_BUDGET: Final = 4000
"""A /reload summary or refusal is cut to this many UTF-16 units of HTML (Telegram: 4096)."""
INLINE_CACHE_SECONDS: Final = 10
TRACEBACK_CHARS: Final = 3000
"""An error report to the admins shows at most the last this many characters of the trace."""

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def _in_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _thread_of(message: Message) -> int | None:
    """The forum topic to answer in (as ``Message.reply_text`` does), if any."""
    return message.message_thread_id if message.is_topic_message else None


def _send(
    update: Update,
    context: BotContext,
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    plain: bool = False,
    quote: bool | None = None,
) -> None:
    """Reply in ``message``'s chat (and topic), through the outbox; in groups the reply
    quotes the message. Stored now, sent by the chat's sender: see :mod:`.delivery`.
    HTML unless ``plain`` (the application's ``Defaults(parse_mode=HTML)``)."""
    params: dict[str, Any] = {"text": text}
    if plain:
        params["parse_mode"] = None  # an explicit None overrides the HTML default
    if markup is not None:
        params["reply_markup"] = markup.to_dict()
    if _in_group(message) if quote is None else quote:
        params["reply_parameters"] = {"message_id": message.message_id}
    thread = _thread_of(message)
    if thread is not None:
        params["message_thread_id"] = thread
    context.bot_data.state.delivery.reply(update.update_id, message.chat.id, params)


def _send_card(update: Update, context: BotContext, message: Message, card: Card) -> None:
    _send(update, context, message, card_html(card), keyboard(card.suggestions, card.language))


def _language_hint(update: Update) -> str | None:
    """The user's Telegram client language (``language_code``), if known."""
    user = update.effective_user
    return user.language_code if user is not None else None


def _ui_language(update: Update) -> str:
    """The language for fixed texts and cards: the client's, else English."""
    return choose_language("", _language_hint(update))


async def _flood_checked(update: Update, context: BotContext) -> bool:
    """Count one update against its user and its group; False when over a limit.

    Over the limit, the first refused update of the window gets a short note -- in the chat,
    on the tapped button, or as the inline results' button -- and the rest get silence.
    """
    user_id = user_id_of(update)
    chat = update.effective_chat
    group_id = chat.id if chat is not None and chat.type != ChatType.PRIVATE else None
    if user_id is None and group_id is None:
        return True
    decision = context.bot_data.state.flood.check(user_id, group_id)
    if decision is Decision.ALLOW:
        return True
    logger.info(
        "rate limited user=%s chat=%s decision=%s",
        user_id,
        chat.id if chat is not None else None,
        decision.value,
    )
    note = texts.of(_ui_language(update)).rate_limited
    notify = decision is Decision.NOTIFY
    if update.callback_query is not None:
        await update.callback_query.answer(note if notify else None)  # stops the spinner
    elif update.inline_query is not None:
        if notify:
            button = InlineQueryResultsButton(text=note[:64], start_parameter="flood")
            await update.inline_query.answer([], cache_time=0, button=button)
    elif notify and update.effective_message is not None:
        _send(update, context, update.effective_message, html.escape(note, quote=False))
    return False


def flood_limited(callback: Handler) -> Handler:
    """``callback`` behind the flood control (every handler a user can trigger has it)."""

    @functools.wraps(callback)
    async def limited(update: Update, context: BotContext) -> None:
        if await _flood_checked(update, context):
            await callback(update, context)

    return limited


def _conversation_of(update: Update) -> tuple[int, int | None]:
    """A private chat is one conversation; in a group, each member has their own."""
    chat = update.effective_chat
    user = update.effective_user
    chat_id = chat.id if chat is not None else 0
    private = chat is not None and chat.type == ChatType.PRIVATE
    return chat_id, None if private or user is None else user.id


async def _answer(update: Update, context: BotContext, question: str) -> None:
    message = update.message
    if message is None:
        return
    started = time.perf_counter()
    engine = context.bot_data.state.holder.engine  # read once: the whole reply uses this version
    if not question.strip():
        _send_card(update, context, message, start_card(engine, _ui_language(update)))
        return
    conversations = context.bot_data.state.conversations
    reply = conversations.respond(
        engine, _conversation_of(update), question, time.monotonic(), _language_hint(update)
    )
    _send(update, context, message, render_html(reply), keyboard(reply.suggestions, reply.language))
    log_question(update, reply, started)
    await record_unanswered(context.bot_data.state.settings, update, reply)


# --------------------------------------------------------------------------------------------
# Handlers


async def private_question(update: Update, context: BotContext) -> None:
    """Answer a text message in a private chat."""
    message = update.message
    if message is None or message.text is None:
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def group_question(update: Update, context: BotContext) -> None:
    """Answer a group message that mentions the bot or replies to it (mention removed)."""
    message = update.message
    if message is None or message.text is None:
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def non_text(update: Update, context: BotContext) -> None:
    """Tell the sender that only text questions are answered."""
    message = update.message
    if message is None:
        return
    note = texts.of(_ui_language(update)).non_text
    _send(update, context, message, html.escape(note, quote=False))


async def suggestion_tapped(update: Update, context: BotContext) -> None:
    """Answer the button tap at once, then send the fact it names (or say it is gone)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    started = time.perf_counter()
    engine = context.bot_data.state.holder.engine  # read once: the whole reply uses this version
    fact = fact_for_callback(engine, query.data or "")
    chat_message = query.message
    if chat_message is None:  # a button on an inline-mode message: nowhere to send to
        return
    state = context.bot_data.state
    key, now = _conversation_of(update), time.monotonic()
    previous = state.conversations.get(key, now)
    # The button carries no language: the conversation's (a Russian question's buttons
    # answer in Russian whatever the client's language), else the client's.
    language = previous.language if previous is not None else _ui_language(update)
    if fact is None:
        text = html.escape(texts.of(language).fact_gone, quote=False)
        markup = keyboard(engine.kb.example_facts, language)
        logger.info("stale button user=%s data=%r", query.from_user.id, query.data)
    else:
        reply = reply_to_fact(engine, fact.id, language)
        if reply is None:  # pragma: no cover - fact_for_callback found it in this engine
            return
        text, markup = render_html(reply), keyboard(reply.suggestions, language)
        state.conversations.put(key, after_fact(previous, fact, language, now))
        log_question(update, reply, started, via="button")
    if isinstance(chat_message, Message):
        _send(update, context, chat_message, text, markup, quote=False)
    else:  # an old message the bot can no longer see: send to its chat all the same
        params: dict[str, Any] = {"text": text}
        if markup is not None:
            params["reply_markup"] = markup.to_dict()
        context.bot_data.state.delivery.reply(update.update_id, chat_message.chat.id, params)


async def stale_callback(update: Update, context: BotContext) -> None:
    """Answer a button press this version of the bot does not know, so it stops spinning."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def _article(engine: Engine, fact: Fact, language: str) -> InlineQueryResultArticle:
    reply = reply_to_fact(engine, fact.id, language)
    answer = fact.answer_in(language)
    text = render_html(reply) if reply is not None else html.escape(answer, quote=False)
    return InlineQueryResultArticle(
        # The loader allows 64 ASCII characters at most: within Telegram's 64-byte result id.
        id=fact.id,
        title=answer,
        description=" ".join(fact.quote.split()),
        input_message_content=InputTextMessageContent(text),
    )


async def inline_query(update: Update, context: BotContext) -> None:
    """Offer answers to ``@bot question`` as articles; an empty query offers the examples."""
    query = update.inline_query
    if query is None:
        return
    started = time.perf_counter()
    engine = context.bot_data.state.holder.engine  # read once: the whole reply uses this version
    question = query.query.strip()
    facts: list[Fact] = []
    language = _ui_language(update)
    if not question:
        facts.extend(engine.kb.example_facts)
    else:
        reply = reply_to(engine, question, _language_hint(update))
        language = reply.language
        if reply.fact is not None:
            facts.append(reply.fact)
        facts.extend(f for f in reply.suggestions if f not in facts)
        log_question(update, reply, started, via="inline")
    results = [_article(engine, f, language) for f in facts]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)


async def start(update: Update, context: BotContext) -> None:
    """Greet: what the bot knows, with example questions as buttons."""
    if update.message is not None:
        engine = context.bot_data.state.holder.engine
        _send_card(update, context, update.message, start_card(engine, _ui_language(update)))


async def help_command(update: Update, context: BotContext) -> None:
    """How to ask, and every command (admins also see /reload and /unanswered)."""
    if update.message is None:
        return
    state = context.bot_data.state
    admin = bool(state.admin_filter.check_update(update))
    card = help_card(state.holder.engine, admin=admin, language=_ui_language(update))
    _send_card(update, context, update.message, card)


async def topics(update: Update, context: BotContext) -> None:
    """Everything the bot can answer, as buttons."""
    if update.message is not None:
        engine = context.bot_data.state.holder.engine
        _send_card(update, context, update.message, topics_card(engine, _ui_language(update)))


async def source(update: Update, context: BotContext) -> None:
    """The article's title, outlet, author and date."""
    if update.message is not None:
        engine = context.bot_data.state.holder.engine
        _send_card(update, context, update.message, source_card(engine, _ui_language(update)))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command the bot does not have (private chats only) with the /help card."""
    await help_command(update, context)


async def reload_knowledge(update: Update, context: BotContext) -> None:
    """Re-read and validate the knowledge file (admins only); reply with what changed."""
    message = update.message
    if message is None:
        return
    outcome = await context.bot_data.state.holder.reload()
    logger.info(
        "/reload by admin user=%s: %s",
        user_id_of(update),
        "refused" if isinstance(outcome, ReloadFailure) else "ok",
    )
    _send(update, context, message, escape_within(outcome.text(), REPLY_BUDGET))


async def unanswered(update: Update, context: BotContext) -> None:
    """The questions asked most that the bot could not answer, each with the line to paste
    under a fact's ``questions:`` (admins only; the file is read off the event loop).

    Only in a private chat: the list holds other people's questions, which a group's
    members must not see.
    """
    message = update.message
    if message is None:
        return
    language = _ui_language(update)
    if message.chat.type != ChatType.PRIVATE:
        note = texts.of(language).unanswered_private_only
        _send(update, context, message, html.escape(note, quote=False))
        return
    path = context.bot_data.state.settings.unanswered_file
    text = await asyncio.to_thread(unanswered_report, path, language, html=True)
    logger.info("/unanswered by admin user=%s", user_id_of(update))
    _send(update, context, message, text)


async def refuse_admin_command(update: Update, context: BotContext) -> None:
    """Refuse /reload or /unanswered politely to anyone but an admin writing as themselves;
    do nothing else."""
    message = update.effective_message
    if message is None:
        return
    origin = message.forward_origin
    words = (message.text or "").split()
    command = words[0].split("@")[0].lower() if words else "?"
    logger.warning(
        "refused %s: user=%s chat=%s chat_type=%s forwarded_from=%s sender_chat=%s",
        command,
        user_id_of(update),
        message.chat.id,
        message.chat.type,
        getattr(origin, "type", None),
        message.sender_chat.id if message.sender_chat else None,
    )
    _send(
        update,
        context,
        message,
        texts.of(_ui_language(update)).not_admin,
        plain=True,
        quote=message.chat.type != ChatType.PRIVATE,
    )


async def drop_repeated_update(update: object, context: BotContext) -> None:
    """Stop an update that was handled already (same update id) before any handler sees it.

    Runs in handler group -1, ahead of every other handler, so a question delivered twice is
    answered once.
    """
    if isinstance(update, Update) and not context.bot_data.state.seen.first_time(update.update_id):
        logger.warning("update %s was delivered again; already handled, ignored", update.update_id)
        raise ApplicationHandlerStop


def _apologise_for(error: BaseException | None) -> bool:
    """Whether the user should hear that something went wrong.

    Yes for a fault of the bot's own code, or a message Telegram refused (BadRequest). No
    for the Bot API failing (timeouts, network errors, 5xx, flood control, a garbled
    response): the answer may well have been delivered, and an apology would be a second
    message for one question -- if it could be sent at all.
    """
    return not isinstance(error, TelegramError) or isinstance(error, BadRequest)


def _report(error: BaseException, update: object) -> str:
    """An error report for the admins: the update's ids and the end of the traceback (HTML)."""
    trace = "".join(traceback.format_exception(None, error, error.__traceback__))
    if len(trace) > TRACEBACK_CHARS:
        trace = "…" + trace[-TRACEBACK_CHARS:]
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        where = f" (update {update.update_id}, chat {chat.id if chat else None})"
    head = f"An error occurred while handling an update{where}: {type(error).__name__}"
    return f"{html.escape(head, quote=False)}\n<pre>{html.escape(trace, quote=False)}</pre>"


def _tell_admins(context: BotContext, error: BaseException, update: object) -> None:
    """Send ``error``'s report to every admin's private chat, within the report budget."""
    state = context.bot_data.state
    admins = sorted(state.settings.telegram.admins)
    if not admins:
        return
    decision = state.error_reports.check("admins")
    if decision is Decision.SILENT:
        return
    if decision is Decision.NOTIFY:
        text = html.escape(
            "More errors occurred; no more reports for a while. See the bot's log.", quote=False
        )
    else:
        # The trace may quote anything, the token included: the same redaction as the logs.
        secrets = [context.bot.token, state.settings.telegram.webhook.secret_token or ""]
        text = RedactingFilter(secrets).redact(_report(error, update))
    for admin in admins:
        state.delivery.reply(None, admin, {"text": text})


async def on_error(update: object, context: BotContext) -> None:
    """Log a handler's exception with its context, tell the admins, apologise; never raises.

    Bot API failures are one warning line; anything else is logged with its traceback and
    sent, shortened and rate-limited, to the admins' private chats (as PTB's
    errorhandlerbot example does).
    """
    try:
        update_id = chat_id = user_id = None
        if isinstance(update, Update):
            update_id = update.update_id
            user_id = user_id_of(update)
            chat_id = update.effective_chat.id if update.effective_chat else None
        error = context.error
        apologise = _apologise_for(error)
        logger.log(
            logging.ERROR if apologise else logging.WARNING,
            "error while handling update=%s user=%s chat=%s: %s%s",
            update_id,
            user_id,
            chat_id,
            type(error).__name__,
            "" if apologise else f": {error}",
            exc_info=error if apologise else None,
        )
        if error is not None and apologise:
            _tell_admins(context, error, update)
        if chat_id is not None and apologise and isinstance(update, Update):
            language = _ui_language(update)
            context.bot_data.state.delivery.reply(
                update_id, chat_id, {"text": texts.of(language).error, "parse_mode": None}
            )
    except Exception:
        with contextlib.suppress(Exception):  # logging itself broken: nothing left to do
            logger.exception("the error handler failed too")
