using System.Text;

namespace OrleansLlm.Client.Input;

/// <summary>
/// A small streaming RFC 4180 reader: quoted fields, doubled quotes, and line breaks inside quotes; the delimiter is
/// a comma unless told otherwise. It holds one record at a time.
/// </summary>
public sealed class CsvReader(Utf8LineReader lines, char delimiter = ',')
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

    /// <returns>The next record, or null at the end of the input.</returns>
    /// <exception cref="FormatException">An unterminated quoted field.</exception>
    public async ValueTask<CsvRecord?> ReadRecordAsync(CancellationToken cancellationToken)
    {
        if (await lines.ReadLineAsync(cancellationToken) is not { } first)
        {
            return null;
        }

        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var line = first;
        var bad = first.Error is null ? null : first;
        while (true)
        {
            inQuotes = SplitLine(line.Text, fields, field, inQuotes);
            if (!inQuotes)
            {
                fields.Add(field.ToString());
                return new CsvRecord(first.Number, fields, bad);
            }

            // A quoted field goes on over the line break, which is part of its value.
            field.Append(line.Break);
            line = await lines.ReadLineAsync(cancellationToken)
                ?? throw new FormatException($"{first.Number}: a quoted field is never closed");
            bad ??= line.Error is null ? null : line;
        }
    }

    /// <summary>
    /// Adds the fields <paramref name="text"/> ends to <paramref name="fields"/>, and keeps the one it leaves open in
    /// <paramref name="field"/>.
    /// </summary>
    /// <returns>True when the line ends inside a quoted field.</returns>
    private bool SplitLine(string text, List<string> fields, StringBuilder field, bool inQuotes)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (inQuotes)
            {
                if (ch != '"')
                {
                    field.Append(ch);
                }
                else if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    inQuotes = false;
                }
            }
            else if (ch == '"' && field.Length == 0)
            {
                inQuotes = true;
            }
            else if (ch == delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }

        return inQuotes;
    }
}
