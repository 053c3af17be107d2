using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Output;

/// <summary>Writes dead letters as a table for people, or as JSON Lines (UTF-8 text unescaped), one at a time.</summary>
public static class DeadLetterWriter
{
    public const string Table = "table";
    public const string JsonLines = "jsonl";

    public static IReadOnlyList<string> Formats { get; } = [Table, JsonLines];

    /// <returns>How many dead letters were written.</returns>
    public static async Task<int> WriteAsync(IAsyncEnumerable<DeadLetter> deadLetters, string format, TextWriter output, CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var d in deadLetters.WithCancellation(cancellationToken))
        {
            if (count++ == 0 && format == Table)
            {
                await output.WriteLineAsync($"{"AT",-20} {"BATCH",-24} {"ITEM",-14} {"CITY",-20} {"ATTEMPTS",8} {"SILO",-28} REASON");
            }

            await output.WriteLineAsync(format == Table ? Row(d) : Json(d));
        }

        return count;
    }

    private static string Row(DeadLetter d)
    {
        var at = d.At == DateTimeOffset.MinValue ? "-" : d.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var reason = d.Error is { Length: > 0 } error ? $"{d.Reason}: {error}" : d.Reason;
        return string.Create(CultureInfo.InvariantCulture,
            $"{at,-20} {Cell(d.Batch, 24)} {Cell(d.ItemId, 14)} {Cell(CityOf(d.Item), 20)} {d.Attempts,8} {Cell(d.Silo, 28)} {OneLine(reason)}");
    }

    private static string Json(DeadLetter d)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("at", d.At == DateTimeOffset.MinValue ? null : d.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("batch", d.Batch);
            w.WriteString("id", d.ItemId);
            w.WriteString("reason", d.Reason);
            w.WriteString("error", d.Error);
            w.WriteNumber("attempts", d.Attempts);
            w.WriteString("silo", d.Silo);
            w.WritePropertyName("item");
            if (TryParse(d.Item) is { } item)
            {
                using (item)
                {
                    item.RootElement.WriteTo(w);
                }
            }
            else
            {
                // Dead-lettered because it is not JSON: kept as the text it was.
                w.WriteStringValue(d.Item);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string? CityOf(string item)
    {
        using var doc = TryParse(item);
        return doc?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("city", out var city)
            ? PromptPlaceholders.TextOf(city)
            : null;
    }

    private static JsonDocument? TryParse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Cell(string? value, int width)
    {
        var text = string.IsNullOrEmpty(value) ? "-" : OneLine(value);
        return (text.Length <= width ? text : text[..(width - 1)] + "…").PadRight(width);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
