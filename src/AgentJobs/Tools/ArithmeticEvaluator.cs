using System.Globalization;

namespace AgentJobs.Tools;

/// <summary>
/// A small recursive-descent evaluator for arithmetic: no identifiers, no code, bounded input, exact decimals.
/// Safe to expose to a model: the worst it can do is report an error.
/// </summary>
public static class ArithmeticEvaluator
{
    /// <summary>Longest expression accepted.</summary>
    public const int MaxLength = 1_000;

    const int MaxDepth = 64;

    /// <summary>Evaluates the expression.</summary>
    /// <exception cref="FormatException">The expression is malformed, too long or too deep.</exception>
    /// <exception cref="DivideByZeroException">It divides by zero.</exception>
    /// <exception cref="OverflowException">The value is too large.</exception>
    public static decimal Evaluate(string expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            throw new FormatException("The expression is empty.");
        }

        if (expression.Length > MaxLength)
        {
            throw new FormatException($"The expression is longer than {MaxLength} characters.");
        }

        var parser = new Parser(expression);
        var value = parser.ParseExpression(0);
        parser.SkipSpaces();
        if (!parser.AtEnd)
        {
            throw new FormatException($"Unexpected '{parser.Current}' at position {parser.Position + 1}.");
        }

        return value;
    }

    struct Parser(string text)
    {
        int pos;

        public readonly bool AtEnd => pos >= text.Length;

        public readonly char Current => text[pos];

        public readonly int Position => pos;

        // expression := term (('+' | '-') term)*
        public decimal ParseExpression(int depth)
        {
            var value = ParseTerm(depth);
            while (TryTake('+') || TryTake('-'))
            {
                var op = text[pos - 1];
                var right = ParseTerm(depth);
                value = op == '+' ? value + right : value - right;
            }

            return value;
        }

        // term := power (('*' | '/' | '%') power)*
        decimal ParseTerm(int depth)
        {
            var value = ParsePower(depth);
            while (TryTake('*') || TryTake('/') || TryTake('%'))
            {
                var op = text[pos - 1];
                var right = ParsePower(depth);
                value = op switch
                {
                    '*' => value * right,
                    '/' => right == 0 ? throw new DivideByZeroException("Division by zero.") : value / right,
                    _ => right == 0 ? throw new DivideByZeroException("Modulo by zero.") : value % right,
                };
            }

            return value;
        }

        // power := unary ('^' power)?   (right-associative, integer exponents only)
        decimal ParsePower(int depth)
        {
            var value = ParseUnary(depth);
            if (TryTake('^'))
            {
                var exponent = ParsePower(depth);
                if (exponent != decimal.Truncate(exponent) || Math.Abs(exponent) > 1_000)
                {
                    throw new FormatException("Exponents must be whole numbers between -1000 and 1000.");
                }

                value = Pow(value, (int)exponent);
            }

            return value;
        }

        // unary := ('-' | '+') unary | primary
        decimal ParseUnary(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new FormatException($"The expression nests deeper than {MaxDepth} levels.");
            }

            if (TryTake('-'))
            {
                return -ParseUnary(depth + 1);
            }

            return TryTake('+') ? ParseUnary(depth + 1) : ParsePrimary(depth);
        }

        // primary := number | '(' expression ')'
        decimal ParsePrimary(int depth)
        {
            if (TryTake('('))
            {
                var value = ParseExpression(depth + 1);
                if (!TryTake(')'))
                {
                    throw new FormatException($"Missing ')' at position {pos + 1}.");
                }

                return value;
            }

            SkipSpaces();
            var start = pos;
            while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '.'))
            {
                pos++;
            }

            if (start == pos)
            {
                throw AtEnd
                    ? new FormatException("The expression ends too early.")
                    : new FormatException($"Unexpected '{text[pos]}' at position {pos + 1}.");
            }

            var token = text[start..pos];
            return decimal.TryParse(token, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw new FormatException($"'{token}' is not a number.");
        }

        bool TryTake(char c)
        {
            SkipSpaces();
            if (pos < text.Length && text[pos] == c)
            {
                pos++;
                return true;
            }

            return false;
        }

        public void SkipSpaces()
        {
            while (pos < text.Length && char.IsWhiteSpace(text[pos]))
            {
                pos++;
            }
        }

        static decimal Pow(decimal value, int exponent)
        {
            if (exponent < 0)
            {
                return value == 0 ? throw new DivideByZeroException("Zero to a negative power.") : 1 / Pow(value, -exponent);
            }

            decimal result = 1;
            for (var i = 0; i < exponent; i++)
            {
                result *= value;
            }

            return result;
        }
    }
}
