using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Output;

/// <summary>Writes result documents as JSON Lines, CSV, or a table for people.</summary>
public static class ResultWriter
{
    private static readonly HashSet<string> EnvelopeFields = ["id", "batch", "input", "meta"];

    public static async Task<int> WriteAsync(IAsyncEnumerable<string> results, string format, TextWriter output, CancellationToken cancellationToken)
    {
        var count = 0;
        string[]? inputColumns = null;
        string? answerField = null;
        await foreach (var json in results.WithCancellation(cancellationToken))
        {
            if (format == "jsonl")
            {
                await output.WriteLineAsync(json);
                count++;
                continue;
            }

            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var input = root.GetProperty("input");
            if (inputColumns is null)
            {
                answerField = root.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !EnvelopeFields.Contains(n)) ?? "answer";
                inputColumns = format == "csv"
                    ? input.EnumerateObject().Select(p => p.Name).ToArray()
                    : new[] { "city", "country" }.Where(c => input.TryGetProperty(c, out _)).DefaultIfEmpty("id").ToArray();
                await output.WriteLineAsync(format == "csv"
                    ? string.Join(',', new[] { "id" }.Concat(inputColumns).Concat([answerField, "attempts", "silo"]).Select(Csv))
                    : $"{string.Join(" | ", inputColumns.Select(c => c.PadRight(24)))} | {answerField}");
            }

            var answer = root.TryGetProperty(answerField!, out var a) ? a.GetString() ?? string.Empty : string.Empty;
            var values = inputColumns.Select(c => input.TryGetProperty(c, out var v) ? Text(v) : root.GetProperty("id").GetString() ?? string.Empty);
            if (format == "csv")
            {
                var meta = root.GetProperty("meta");
                await output.WriteLineAsync(string.Join(',',
                    new[] { root.GetProperty("id").GetString()! }.Concat(values).Concat([answer, meta.GetProperty("attempts").GetRawText(), meta.GetProperty("silo").GetString()!]).Select(Csv)));
            }
            else
            {
                await output.WriteLineAsync($"{string.Join(" | ", values.Select(v => Truncate(v, 24).PadRight(24)))} | {(answer.Length == 0 ? "(no answer)" : answer)}");
            }

            count++;
        }

        return count;
    }

    private static string Text(JsonElement v) => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
