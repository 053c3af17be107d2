namespace OrleansLlm.Client.Output;

/// <summary>Writes result documents (<see cref="ResultDocument"/>) as JSON Lines, CSV, or a table for people, one at a time.</summary>
public static class ResultWriter
{
    public const string JsonLines = "jsonl";
    public const string Csv = "csv";
    public const string Table = "table";

    private const int TableColumnWidth = 24;

    public static IReadOnlyList<string> Formats { get; } = [JsonLines, Csv, Table];

    /// <returns>How many results were written.</returns>
    public static async Task<int> WriteAsync(IAsyncEnumerable<string> results, string format, TextWriter output, CancellationToken cancellationToken)
    {
        var count = 0;
        string[]? columns = null;
        await foreach (var json in results.WithCancellation(cancellationToken))
        {
            count++;
            if (format == JsonLines)
            {
                // Stored as written: one document per line, UTF-8 text unescaped.
                await output.WriteLineAsync(json);
                continue;
            }

            var result = ResultDocument.Read(json);
            var input = result.Input.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            if (columns is null)
            {
                // The first document sets the columns: the item's own fields (its id once, first), then the answer under its own name.
                columns = format == Csv
                    ? [.. result.Input.Select(kv => kv.Key).Where(c => c != ResultDocument.IdField)]
                    : [.. new[] { "city", "country" }.Where(input.ContainsKey).DefaultIfEmpty(ResultDocument.IdField)];
                await output.WriteLineAsync(format == Csv
                    ? string.Join(',', new[] { ResultDocument.IdField }.Concat(columns).Concat([result.AnswerField, "attempts", "silo"]).Select(CsvField))
                    : $"{string.Join(" | ", columns.Select(c => c.PadRight(TableColumnWidth)))} | {result.AnswerField}");
            }

            var values = columns.Select(c => input.TryGetValue(c, out var v) ? v : c == ResultDocument.IdField ? result.Id : string.Empty);
            await output.WriteLineAsync(format == Csv
                ? string.Join(',', new[] { result.Id }.Concat(values).Concat([result.Answer, result.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Silo]).Select(CsvField))
                : $"{string.Join(" | ", values.Select(v => Truncate(v, TableColumnWidth).PadRight(TableColumnWidth)))} | {(result.Answer.Length == 0 ? "(no answer)" : result.Answer)}");
        }

        return count;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
