using System.Text.Json;

namespace OrleansLlm.Queue;

/// <summary>
/// Reads a dead letter, as <c>dead_letter</c> in <c>Scripts/include/ending.lua</c> writes it to its batch's list:
/// <c>{reason, error, attempts, batch, owner, at, item, answer, failed_on, retried}</c>, where <c>retried</c> (ms) is set once
/// <c>retry</c> put the item back in the queue, <c>at</c> is Unix milliseconds on Redis' clock,
/// <c>error</c> is absent when there was none, and <c>item</c> is the queued payload (an envelope, or a raw item).
/// </summary>
public static class DeadLetterEntry
{
    /// <summary>Reads an entry; one that is not such an object is returned as it is, with a reason saying so.</summary>
    public static DeadLetter Parse(string entry)
    {
        try
        {
            using var doc = JsonDocument.Parse(entry);
            var root = doc.RootElement;
            var payload = root.GetProperty("item").GetString() ?? string.Empty;
            string? itemId = null;
            var item = payload;
            if (QueueItem.TryParse(payload, int.MaxValue, out var parsed) is null)
            {
                using (parsed)
                {
                    itemId = parsed!.Id;
                    item = parsed.Item.GetRawText();
                }
            }

            return new DeadLetter(
                Text(root, "batch") ?? Envelope.BatchOf(payload),
                itemId,
                Text(root, "reason") ?? string.Empty,
                Text(root, "error"),
                root.TryGetProperty("attempts", out var attempts) && attempts.ValueKind == JsonValueKind.Number ? (int)attempts.GetDouble() : 0,
                Text(root, "owner") ?? string.Empty,
                root.TryGetProperty("at", out var at) && at.ValueKind == JsonValueKind.Number
                    ? DateTimeOffset.FromUnixTimeMilliseconds((long)at.GetDouble())
                    : DateTimeOffset.MinValue,
                item,
                Text(root, "answer"),
                root.TryGetProperty("retried", out var retried) && retried.ValueKind == JsonValueKind.Number
                    ? DateTimeOffset.FromUnixTimeMilliseconds((long)retried.GetDouble())
                    : null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Something else pushed it onto the list: show it rather than hide it or fail the whole listing.
            return new DeadLetter(string.Empty, null, $"unreadable dead-letter entry: {ex.Message}", null, 0, string.Empty, DateTimeOffset.MinValue, entry);
        }
    }

    // A field the script had no value for is absent: cjson leaves nil out of a table.
    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
