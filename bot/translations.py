"""Interface texts in Turkish, Azerbaijani and Russian (keys as in ``bot.texts``)."""

from __future__ import annotations

TRANSLATED: dict[str, dict[str, str]] = {
    "tr": {
        "NO_ANSWER": "Makalede bu konuda bilgi yok.",
        "NO_ANSWER_SUGGEST": "Makalede bu konuda bilgi yok. Yanıtlayabileceğim sorular şunlar:",
        "UNCERTAIN_SUGGEST": "Bunu mu kastetmediniz? Şunlardan birini deneyin:",
        "SUGGEST_PLAIN_HINT": "(sormak için numarasını yazın)",
        "SMALLTALK.greeting": "Merhaba! Makale hakkında istediğinizi sorun: kimler görüştü, neler konuşuldu, ticaret rakamları, ortak projeler ya da yatırımcılar.",
        "SMALLTALK.thanks": "Rica ederim! Makale hakkında başka bir şey sorabilirsiniz.",
        "SMALLTALK.goodbye": "Hoşça kalın! Makale hakkında başka sorularınız olursa her zaman gelebilirsiniz.",
        "SMALLTALK.help": "Tek bir haber makalesiyle ilgili soruları yanıtlıyorum. Kendi sözlerinizle sorun, örneğin:",
        "SMALLTALK.about": "Tek bir haber makalesiyle ilgili soruları yanıtlayan bir botum; her yanıtı kanıtlayan cümleyi de alıntılarım.",
        "SMALLTALK.ack": "Makale hakkında bilmek istediğiniz başka bir şey var mı?",
        "SOURCE_LINE": "Kaynak: {outlet}, {date}",
        "NON_TEXT": "Makale hakkında yalnızca yazılı soruları yanıtlayabilirim. Lütfen sorunuzu yazın.",
        "ERROR": "Üzgünüm, yanıt verirken bir sorun oluştu. Lütfen tekrar deneyin.",
        "RATE_LIMITED": "Çok hızlı soru gönderiyorsunuz. Lütfen biraz bekleyip tekrar deneyin.",
        "NOT_ADMIN": "Üzgünüm, bunu yalnızca botun yöneticileri yapabilir.",
        "FACT_GONE": "Bu soru artık mevcut değil: bilgi tabanı değişti. Şunlardan birini deneyin:",
        "START_TITLE": "Bu makale hakkında bana soru sorun",
        "START_BODY": "Makaledeki bilgileri biliyorum ve her yanıtın arkasındaki cümleyi alıntılarım. Sorunuzu kendi sözlerinizle yazın ya da şunlardan birini deneyin:",
        "HELP_TITLE": "Bu bot nasıl kullanılır",
        "HELP_BODY": "Makale hakkında her soruyu kendi sözlerinizle sorun; yanıtı kanıtlayan cümleyle veririm ya da makalenin bu konuya değinmediğini söylerim. Gruplarda beni etiketleyin veya mesajıma yanıt verin. Her sohbette @kullanıcıadımı yazıp ardından sorunuzu ekleyebilirsiniz (satır içi mod).",
        "TOPICS_TITLE": "Şu soruları yanıtlayabilirim, örneğin:",
        "SOURCE_TITLE": "Makale",
        "HELP_GROUPS": "",
    },
}
