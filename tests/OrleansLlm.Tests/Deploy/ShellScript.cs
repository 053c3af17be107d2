using System.Text;
using System.Text.RegularExpressions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// Reads the shell blocks of a document the way bash would run them, far enough to check what they do: line
/// continuations, comments, single and double quotes, <c>$VAR</c> and <c>${VAR}</c> from earlier assignments,
/// pipelines and lists (<c>|</c>, <c>&amp;&amp;</c>, <c>;</c>), redirections, function bodies, and the commands inside
/// <c>$(...)</c>. Anything else bash does is not needed by the docs, and fails loudly.
/// </summary>
public sealed partial class ShellScript
{
    private readonly Dictionary<string, string> _variables = new(StringComparer.Ordinal);
    private readonly List<ShellCommand> _commands = [];

    /// <summary>Every command, in the order they run; a <c>$(...)</c> comes before the command it is part of.</summary>
    public IReadOnlyList<ShellCommand> Commands => _commands;

    /// <summary>Variables assigned so far (<c>REGISTRY=...</c>).</summary>
    public IReadOnlyDictionary<string, string> Variables => _variables;

    /// <summary>Adds a block of <paramref name="doc"/> that starts at line <paramref name="firstLine"/>.</summary>
    public void Add(string block, string doc, int firstLine)
    {
        var lines = block.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var start = i;
            var line = lines[i];
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                line = line[..^1] + " " + lines[++i].TrimStart();
            }

            AddLine(line, $"{doc}:{firstLine + start}");
        }
    }

    private static bool EndsWithContinuation(string line) => line.EndsWith('\\');

    private void AddLine(string line, string where)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        var i = 0;

        void EndWord()
        {
            if (inWord)
            {
                words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
        }

        void EndCommand()
        {
            EndWord();
            Record(words, where);
            words = [];
        }

        while (i < line.Length)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c))
            {
                EndWord();
                i++;
            }
            else if (c == '#' && !inWord)
            {
                break;
            }
            else if (c == '\'')
            {
                var end = line.IndexOf('\'', i + 1);
                Ensure(end > 0, where, "an unclosed single quote");
                word.Append(line, i + 1, end - i - 1);
                inWord = true;
                i = end + 1;
            }
            else if (c == '"')
            {
                inWord = true;
                i++;
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
                    {
                        word.Append(line[i + 1]);
                        i += 2;
                    }
                    else if (line[i] == '$')
                    {
                        i = Dollar(line, i, word, where);
                    }
                    else
                    {
                        word.Append(line[i++]);
                    }
                }

                Ensure(i < line.Length, where, "an unclosed double quote");
                i++;
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                word.Append(line[i + 1]);
                inWord = true;
                i += 2;
            }
            else if (c == '$')
            {
                inWord = true;
                i = Dollar(line, i, word, where);
            }
            else if (c is '|' or ';' or '&')
            {
                Ensure(c != '&' || (i + 1 < line.Length && line[i + 1] == '&'), where, "a background job (&)");
                EndCommand();
                i += i + 1 < line.Length && line[i + 1] == c ? 2 : 1;
            }
            else if (c is '>' or '<')
            {
                // A redirection: the target is not an argument. Here documents are not needed by the docs.
                EndWord();
                Ensure(!line.AsSpan(i).StartsWith("<<"), where, "a here document");
                i += i + 1 < line.Length && line[i + 1] == '>' ? 2 : 1;
                while (i < line.Length && char.IsWhiteSpace(line[i]))
                {
                    i++;
                }

                while (i < line.Length && !char.IsWhiteSpace(line[i]))
                {
                    i++;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
                i++;
            }
        }

        EndCommand();
    }

    // $NAME, ${NAME}, $@ and $(...), at line[i] == '$'; returns the index after it.
    private int Dollar(string line, int i, StringBuilder word, string where)
    {
        if (i + 1 < line.Length && line[i + 1] == '(')
        {
            var depth = 0;
            var end = i + 1;
            for (; end < line.Length; end++)
            {
                depth += line[end] switch { '(' => 1, ')' => -1, _ => 0 };
                if (depth == 0)
                {
                    break;
                }
            }

            Ensure(end < line.Length, where, "an unclosed $(");
            var inner = line[(i + 2)..end];
            AddLine(inner, where);
            word.Append("$(").Append(inner).Append(')');
            return end + 1;
        }

        var name = VariableName().Match(line, i + 1);
        if (line.AsSpan(i + 1).StartsWith("{"))
        {
            var close = line.IndexOf('}', i);
            Ensure(close > 0, where, "an unclosed ${");
            var braced = line[(i + 2)..close];
            word.Append(_variables.TryGetValue(braced, out var value) ? value : "${" + braced + "}");
            return close + 1;
        }

        if (name.Success && name.Index == i + 1)
        {
            word.Append(_variables.TryGetValue(name.Value, out var value) ? value : "$" + name.Value);
            return i + 1 + name.Length;
        }

        word.Append('$');
        return i + 1;
    }

    private void Record(List<string> words, string where)
    {
        // A function definition's first line (name() {) and its closing brace run nothing by themselves.
        if (words is [var f, "{"] && f.EndsWith("()", StringComparison.Ordinal) || words is ["}"])
        {
            return;
        }

        if (words.Count == 0)
        {
            return;
        }

        if (words.All(w => Assignment().IsMatch(w)))
        {
            foreach (var w in words)
            {
                var eq = w.IndexOf('=');
                _variables[w[..eq]] = w[(eq + 1)..];
            }

            return;
        }

        _commands.Add(new ShellCommand([.. words], where, _commands.Count));
    }

    private static void Ensure(bool condition, string where, string what)
    {
        if (!condition)
        {
            throw new Xunit.Sdk.XunitException($"{where}: the shell reader does not understand {what}");
        }
    }

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*|@")]
    private static partial Regex VariableName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*=")]
    private static partial Regex Assignment();
}
