using System.Globalization;
using System.Text;

namespace AgentJobs.Application;

/// <summary>
/// What the API requires of free text (prompt, instructions, agent name, model, thread id, cancel reason): well-formed
/// UTF-16 (no unpaired surrogate), and at least one visible character.
/// </summary>
internal static class TextRules
{
    /// <summary>The index of the first unpaired surrogate, or -1 when the text is well-formed UTF-16.</summary>
    public static int UnpairedSurrogateAt(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Whether the text has a character a reader can see: not only whitespace (categories Zs, Zl, Zp), control
    /// characters such as NUL (Cc), format characters such as U+200B..U+200D, U+2060 and U+FEFF (Cf), combining
    /// marks with nothing to combine with (Mn), or the blank letters that render as nothing (Hangul fillers,
    /// the blank Braille pattern).
    /// </summary>
    public static bool HasVisibleCharacter(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (!IsInvisible(rune))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The problem with a text field, or null. <paramref name="allowEmpty"/>: "" is accepted (it means "none").</summary>
    public static ValidationProblem? Check(string field, string text, bool allowEmpty = false)
    {
        if (text.Length == 0 && allowEmpty)
        {
            return null;
        }

        if (UnpairedSurrogateAt(text) is var at and >= 0)
        {
            return new(field,
                $"'{field}' is not valid Unicode: it has an unpaired UTF-16 surrogate (U+{(int)text[at]:X4} at character {at}), " +
                "which no UTF-8 or UTF-16 text can contain. Send well-formed text.");
        }

        return HasVisibleCharacter(text)
            ? null
            : new(field,
                $"'{field}' has no visible characters: it is empty or only whitespace, control, format or zero-width characters " +
                "(such as NUL, U+200B or U+FEFF).");
    }

    static bool IsInvisible(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.NonSpacingMark => true,
        _ => rune.Value is 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800,
    };
}
