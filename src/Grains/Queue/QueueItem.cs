using System.Text;
using System.Text.Json;

namespace OrleansLlm.Queue;

/// <summary>
/// An item read from the queue: a raw object as Bento's <c>redis_list</c> output pushes it (batch <c>default</c>),
/// or a batch's item inside its <see cref="Envelope"/>.
/// </summary>
public sealed class QueueItem : IDisposable
{
    private readonly JsonDocument _document;

    private QueueItem(JsonDocument document, string batchId, string id, JsonElement item)
    {
        _document = document;
        BatchId = batchId;
        Id = id;
        Item = item;
    }

    public string BatchId { get; }

    public string Id { get; }

    /// <summary>The item object itself (inside the envelope, if any).</summary>
    public JsonElement Item { get; }

    /// <returns>Null when the payload is usable, else a reason fit for the dead-letter list.</returns>
    public static string? TryParse(string payload, int maxBytes, out QueueItem? item)
    {
        item = null;
        var bytes = Encoding.UTF8.GetByteCount(payload);
        if (bytes > maxBytes)
        {
            return $"item is {bytes} bytes, over the limit of {maxBytes}";
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException ex)
        {
            return $"not valid JSON: {ex.Message}";
        }

        try
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                var kind = root.ValueKind.ToString().ToLowerInvariant();
                document.Dispose();
                return $"not a JSON object but {kind}";
            }

            if (Envelope.IsEnveloped(payload))
            {
                if (Envelope.TryDecode(root, out var batchId, out var envelopeId, out var inner) is { } invalid)
                {
                    document.Dispose();
                    return invalid;
                }

                item = new QueueItem(document, batchId, envelopeId, inner);
                return null;
            }

            item = new QueueItem(document, BatchIds.Default, ItemIds.Of(root, payload), root);
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
        {
            // JSON that parses but that System.Text.Json cannot read as text, e.g. an escaped lone surrogate.
            document.Dispose();
            return $"unreadable JSON: {ex.Message}";
        }
    }

    public void Dispose() => _document.Dispose();
}
