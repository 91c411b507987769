/*
 * gentext.c -- text for synthetic workloads: paraphrase questions and the
 * pseudo-words that render synthetic token ids.
 *
 * Paraphrases.  A meaning is a (template, feature, context) triple, e.g.
 * template 0 with "dark mode" and "my phone"; its wordings come from the
 * template's synonym slots {a|b|c}: "How do I turn on the dark mode on my
 * phone?" and "What is the way to activate the dark mode on my phone?" ask
 * the same thing in different words, while another feature or context is a
 * different question (a near miss for a semantic cache).  The canonical
 * wording takes the first option of every slot.  Meanings are numbered
 * through a fixed permutation so that consecutive group ids differ in
 * template, feature and context alike.
 *
 * Pseudo-words.  A synthetic token id becomes a word of consonant-vowel
 * syllables (its base-70 digits, least significant first): 0 -> "ba",
 * 71 -> "bebe"; distinct ids give distinct words, so equal text means
 * equal tokens, and text costs about 7 bytes per token.
 *
 * Cost: O(output bytes); no allocation beyond growing the caller's buffer.
 */
#include "gen_int.h"

#include <string.h>

static const char *const templates[] = {
    "{How do I|How can I|What is the way to|How would I} {turn on|enable|activate|switch on} "
    "the %A on %B?",
    "{How do I|How can I|What is the way to|How would I} {turn off|disable|deactivate|switch off} "
    "the %A on %B?",
    "{Why is the %A not working|Why does the %A not work|What makes the %A fail|Why is the %A "
    "broken} on %B?",
    "{Can you|Could you|Would you} {explain|describe} how the %A {works|functions|operates} on %B?",
    "{Where can I find|Where do I find|How do I get to|Where are} the {settings|options|"
    "preferences} for the %A on %B?",
    "{Is the %A available|Can I use the %A|Is the %A supported} on %B?",
    "{What should I do|What can I do|How do I fix it} {if|when} the %A {stops working|breaks|"
    "fails} on %B?",
    "{Is it safe|Is it secure} to {use|rely on|keep using} the %A on %B?",
    "{How much|What amount of} battery does the %A {use|consume|drain} on %B?",
    "{Can I|Is it possible to|Am I able to} {schedule|automate} the %A on %B?",
    "{Why does|For what reason does} the %A keep {turning off|switching off|shutting off} on %B?",
    "{How do I|How can I|What is the way to} reset the %A to its {default|original|factory} "
    "{settings|configuration} on %B?",
    "{Does|Will} the %A {work|function} {without an internet connection|without internet "
    "access|with no network connection|offline} on %B?",
    "{Who can|Which people can} {see|view|access} my {data|information} in the %A on %B?",
    "{How do I|How can I} {speed up|accelerate} the %A on %B?",
    "{Why is the %A so slow|What makes the %A this slow|Why does the %A take so long} on %B?",
};
#define N_TEMPLATES (sizeof templates / sizeof templates[0])

static const char *const features[] = {
    "dark mode", "two-factor authentication", "notification center", "auto-save",
    "cloud backup", "offline mode", "spell checker", "location sharing", "screen reader",
    "calendar sync", "file sharing", "voice typing", "parental control panel", "automatic update",
    "battery saver", "data export", "email forwarding", "keyboard shortcut panel",
    "read receipt", "photo upload", "video call", "password manager", "search history",
    "guest mode", "do-not-disturb mode", "translation tool", "printer setup", "contact sync",
    "bookmark sync", "download manager", "storage cleaner", "night light",
};
#define N_FEATURES (sizeof features / sizeof features[0])

static const char *const contexts[] = {
    "my phone", "my laptop", "the web version", "a work computer", "my tablet",
    "the desktop app", "a shared family account", "Linux", "Windows 11", "a Mac",
    "an Android phone", "an iPhone", "the company network", "a Chromebook", "my smart TV",
    "the beta release", "an old browser", "a brand new account", "a guest profile",
    "the mobile website", "a school laptop", "two monitors", "a slow connection",
    "an enterprise plan",
};
#define N_CONTEXTS (sizeof contexts / sizeof contexts[0])

/* Multiplier of the meaning permutation: coprime with the number of meanings
 * (16 * 32 * 24 = 2^12 * 3), so m -> m * P mod N is a bijection. */
#define MEANING_MULT 7919u

size_t cc_gen_para_meanings(void)
{
    return N_TEMPLATES * N_FEATURES * N_CONTEXTS;
}

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (cc_grow((void **)buf, cap, *len + n + 1, 1))
        return CC_ENOMEM;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return CC_OK;
}

/* Copies s[0..n) substituting %A and %B. */
static int put_filled(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
                      const char *a, const char *b)
{
    size_t i = 0, start = 0;
    while (i < n) {
        if (s[i] == '%' && i + 1 < n && (s[i + 1] == 'A' || s[i + 1] == 'B')) {
            const char *fill = s[i + 1] == 'A' ? a : b;
            if (put(buf, len, cap, s + start, i - start) ||
                put(buf, len, cap, fill, strlen(fill)))
                return CC_ENOMEM;
            i += 2;
            start = i;
        } else {
            i++;
        }
    }
    return put(buf, len, cap, s + start, n - start);
}

int cc_gen_para_text(size_t m, gsl_rng *r, char **buf, size_t *len, size_t *cap)
{
    size_t n = cc_gen_para_meanings();
    size_t p = (size_t)(((uint64_t)(m % n) * MEANING_MULT) % n);
    const char *t = templates[p % N_TEMPLATES];
    const char *a = features[(p / N_TEMPLATES) % N_FEATURES];
    const char *b = contexts[p / (N_TEMPLATES * N_FEATURES)];
    while (*t) {
        const char *open = strchr(t, '{');
        size_t lit = open ? (size_t)(open - t) : strlen(t);
        if (put_filled(buf, len, cap, t, lit, a, b))
            return CC_ENOMEM;
        if (!open)
            break;
        const char *close = strchr(open, '}');
        size_t options = 1;
        for (const char *q = open + 1; q < close; q++)
            options += *q == '|';
        size_t pick = r ? (size_t)gsl_rng_uniform_int(r, options) : 0;
        const char *opt = open + 1;
        for (size_t k = 0; k < pick; k++)
            opt = strchr(opt, '|') + 1;
        const char *opt_end = opt;
        while (opt_end < close && *opt_end != '|')
            opt_end++;
        if (put_filled(buf, len, cap, opt, (size_t)(opt_end - opt), a, b))
            return CC_ENOMEM;
        t = close + 1;
    }
    return CC_OK;
}

int cc_gen_words(const uint32_t *ids, size_t n, char **buf, size_t *len, size_t *cap)
{
    static const char consonants[] = "bdfgklmnprstvz"; /* 14 */
    static const char vowels[] = "aeiou";              /* 5 */
    /* at most 6 syllables (70^6 > 2^32) + a space, per id */
    if (cc_grow((void **)buf, cap, *len + n * 13 + 1, 1))
        return CC_ENOMEM;
    char *out = *buf + *len;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *out++ = ' ';
        uint32_t v = ids[i];
        do {
            uint32_t d = v % 70;
            v /= 70;
            *out++ = consonants[d / 5];
            *out++ = vowels[d % 5];
        } while (v);
    }
    *len = (size_t)(out - *buf);
    *out = '\0';
    return CC_OK;
}
