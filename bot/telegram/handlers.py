"""The handlers: questions, button taps, inline queries, commands, and the error handler."""

from __future__ import annotations

import contextlib
import html
import logging
import time
from typing import Final

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.knowledge import Fact
from bot.language import choose_language
from bot.ratelimit import Decision
from bot.reloading import ReloadFailure
from bot.replies import (
    Card,
    Engine,
    escape_within,
    help_card,
    render_html,
    reply_to,
    reply_to_fact,
    source_card,
    start_card,
    topics_card,
)
from bot.telegram.filters import strip_mention
from bot.telegram.keyboards import MAX_CALLBACK_BYTES, fact_for_callback, id_hash, keyboard
from bot.telegram.question_log import log_question, record_unanswered, user_id_of
from bot.telegram.state import STATE_KEY, BotState

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS: Final = 4096
REPLY_BUDGET: Final = 4000
"""A /reload summary or refusal is cut to this many UTF-16 units of HTML (Telegram: 4096)."""
INLINE_CACHE_SECONDS: Final = 10


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    state = context.bot_data[STATE_KEY]
    if not isinstance(state, BotState):  # pragma: no cover - programming error
        raise TypeError("the application was not built with build_application()")
    return state


def _in_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def _send(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply in HTML in ``message``'s chat (and topic); in groups the reply quotes the message."""
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        do_quote=_in_group(message),
    )


async def _send_card(message: Message, card: Card) -> None:
    await _send(message, card.html(), keyboard(card.suggestions, card.language))


def _language_hint(update: Update) -> str | None:
    """The user's Telegram client language (``language_code``), if known."""
    user = update.effective_user
    return user.language_code if user is not None else None


def _ui_language(update: Update) -> str:
    """The language for fixed texts and cards: the client's, else English."""
    return choose_language("", _language_hint(update))


async def _flood_checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count one question; False (after at most one note per window) when over the limit."""
    user_id = user_id_of(update)
    if user_id is None:
        return True
    decision = _state(context).limiter.check(user_id)
    if decision is Decision.ALLOW:
        return True
    message = update.effective_message
    logger.info("rate limited user=%s decision=%s", user_id, decision.value)
    if decision is Decision.NOTIFY and message is not None:
        note = texts.text("RATE_LIMITED", _ui_language(update))
        await _send(message, html.escape(note, quote=False))
    return False


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    message = update.message
    if message is None:
        return
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
    if not question.strip():
        await _send_card(message, start_card(engine, _ui_language(update)))
        return
    reply = reply_to(engine, question, _language_hint(update))
    await _send(message, render_html(reply), keyboard(reply.suggestions, reply.language))
    log_question(update, reply, started)
    await record_unanswered(_state(context).settings, update, reply)


# --------------------------------------------------------------------------------------------
# Handlers


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message in a private chat."""
    message = update.message
    if message is None or message.text is None or not await _flood_checked(update, context):
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a group message that mentions the bot or replies to it (mention removed)."""
    message = update.message
    if message is None or message.text is None or not await _flood_checked(update, context):
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell the sender that only text questions are answered."""
    message = update.message
    if message is None or not await _flood_checked(update, context):
        return
    note = texts.text("NON_TEXT", _ui_language(update))
    await _send(message, html.escape(note, quote=False))


async def suggestion_tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button tap at once, then send the fact it names (or say it is gone)."""
    query = update.callback_query
    if query is None:
        return
    decision = _state(context).limiter.check(query.from_user.id)
    if decision is not Decision.ALLOW:
        logger.info("rate limited user=%s decision=%s", query.from_user.id, decision.value)
        note = texts.text("RATE_LIMITED", _ui_language(update))
        await query.answer(note if decision is Decision.NOTIFY else None)
        return
    await query.answer()
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
    fact = fact_for_callback(engine, query.data or "")
    chat_message = query.message
    if chat_message is None:  # a button on an inline-mode message: nowhere to send to
        return
    language = _ui_language(update)
    if fact is None:
        text = html.escape(texts.text("FACT_GONE", language), quote=False)
        markup = keyboard(engine.kb.example_facts, language)
        logger.info("stale button user=%s data=%r", query.from_user.id, query.data)
    else:
        reply = reply_to_fact(engine, fact.id, language)
        if reply is None:  # pragma: no cover - fact_for_callback found it in this engine
            return
        text, markup = render_html(reply), keyboard(reply.suggestions, language)
        log_question(update, reply, started, via="button")
    if isinstance(chat_message, Message):
        await chat_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False
        )
    else:  # an old message the bot can no longer see: send to its chat all the same
        await context.bot.send_message(
            chat_message.chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )


async def stale_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press this version of the bot does not know, so it stops spinning."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def _article(engine: Engine, fact: Fact, language: str) -> InlineQueryResultArticle:
    reply = reply_to_fact(engine, fact.id, language)
    answer = fact.answer_in(language)
    text = render_html(reply) if reply is not None else html.escape(answer, quote=False)
    return InlineQueryResultArticle(
        id=fact.id if len(fact.id.encode()) <= MAX_CALLBACK_BYTES else id_hash(fact.id),
        title=answer,
        description=" ".join(fact.quote.split()),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer answers to ``@bot question`` as articles; an empty query offers the examples."""
    query = update.inline_query
    if query is None:
        return
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
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


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet: what the bot knows, with example questions as buttons."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, start_card(engine, _ui_language(update)))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, and every command (admins also see /reload)."""
    if update.message is None:
        return
    state = _state(context)
    admin = bool(state.admin_filter.check_update(update))
    card = help_card(state.holder.engine, admin=admin, language=_ui_language(update))
    await _send_card(update.message, card)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything the bot can answer, as buttons."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, topics_card(engine, _ui_language(update)))


async def source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The article's title, outlet, author and date."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, source_card(engine, _ui_language(update)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not have (private chats only) with the /help card."""
    await help_command(update, context)


async def reload_knowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-read and validate the knowledge file (admins only); reply with what changed."""
    message = update.message
    if message is None:
        return
    outcome = await _state(context).holder.reload()
    logger.info(
        "/reload by admin user=%s: %s",
        user_id_of(update),
        "refused" if isinstance(outcome, ReloadFailure) else "ok",
    )
    await _send(message, escape_within(outcome.text(), REPLY_BUDGET))


async def refuse_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse /reload politely to anyone but an admin writing as themselves; reload nothing."""
    message = update.effective_message
    if message is None:
        return
    origin = message.forward_origin
    logger.warning(
        "refused /reload: user=%s chat=%s chat_type=%s forwarded_from=%s sender_chat=%s",
        user_id_of(update),
        message.chat.id,
        message.chat.type,
        getattr(origin, "type", None),
        message.sender_chat.id if message.sender_chat else None,
    )
    await message.reply_text(
        texts.text("NOT_ADMIN", _ui_language(update)),
        do_quote=message.chat.type != ChatType.PRIVATE,
    )


async def drop_repeated_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop an update that was handled already (same update id) before any handler sees it.

    Runs in handler group -1, ahead of every other handler, so a question delivered twice is
    answered once.
    """
    if isinstance(update, Update) and not _state(context).seen.first_time(update.update_id):
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


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler's exception with its context and apologise if there is a chat; never raises.

    Bot API failures are one warning line; anything else is logged with its traceback.
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
        if chat_id is not None and apologise:
            language = _ui_language(update) if isinstance(update, Update) else "en"
            await context.bot.send_message(chat_id, texts.text("ERROR", language))
    except Exception:
        with contextlib.suppress(Exception):  # logging itself broken: nothing left to do
            logger.exception("the error handler failed too")
