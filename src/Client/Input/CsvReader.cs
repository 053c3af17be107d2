using System.Text;

namespace OrleansLlm.Client.Input;

/// <summary>
/// A small streaming RFC 4180 reader: quoted fields, doubled quotes, and line breaks inside quotes; the delimiter is
/// a comma unless told otherwise.
/// </summary>
public sealed class CsvReader(TextReader reader, char delimiter = ',')
{
    /// <summary>The delimiters <see cref="DetectDelimiter"/> chooses from, the most usual first.</summary>
    public const string CommonDelimiters = ",;\t";

    /// <summary>
    /// The delimiter of a file whose header is <paramref name="firstLine"/>: whichever of <see cref="CommonDelimiters"/>
    /// it holds most often outside quotes; a comma when it holds none.
    /// </summary>
    public static char DetectDelimiter(string firstLine)
    {
        var counts = new int[CommonDelimiters.Length];
        var inQuotes = false;
        foreach (var c in firstLine)
        {
            if (c == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (!inQuotes && CommonDelimiters.IndexOf(c) is >= 0 and var i)
            {
                counts[i]++;
            }
        }

        var best = 0;
        for (var i = 1; i < counts.Length; i++)
        {
            best = counts[i] > counts[best] ? i : best;
        }

        return CommonDelimiters[best];
    }

    /// <summary>Line number (1-based) where the last record returned started.</summary>
    public int RecordLine { get; private set; }

    private int _line = 1;

    /// <returns>The next record's fields, or null at the end of the input.</returns>
    /// <exception cref="FormatException">An unterminated quoted field.</exception>
    public List<string>? ReadRecord()
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var any = false;
        RecordLine = _line;
        while (true)
        {
            var c = reader.Read();
            if (c == -1)
            {
                if (inQuotes)
                {
                    throw new FormatException($"line {RecordLine}: a quoted field is never closed");
                }

                if (!any)
                {
                    return null;
                }

                fields.Add(field.ToString());
                return fields;
            }

            any = true;
            var ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        inQuotes = false;
                    }
                }
                else
                {
                    if (ch == '\n')
                    {
                        _line++;
                    }

                    field.Append(ch);
                }

                continue;
            }

            switch (ch)
            {
                case '"' when field.Length == 0:
                    inQuotes = true;
                    break;
                case var d when d == delimiter:
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r' when reader.Peek() == '\n':
                    break;
                case '\n' or '\r':
                    _line++;
                    fields.Add(field.ToString());
                    return fields;
                default:
                    field.Append(ch);
                    break;
            }
        }
    }
}
