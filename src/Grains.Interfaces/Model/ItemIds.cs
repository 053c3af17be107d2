using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OrleansLlm;

/// <summary>How an item gets its id: the client's, else the object's own <c>id</c> field, else a hash of its content.</summary>
public static class ItemIds
{
    /// <summary>The object's <c>id</c> field (a string or a number) when it has a non-empty one, else <see cref="FromContent"/>.</summary>
    public static string Of(JsonElement item, string json) =>
        item.TryGetProperty("id", out var own) && own.ValueKind switch
        {
            JsonValueKind.String => own.GetString(),
            JsonValueKind.Number => own.GetRawText(),
            _ => null,
        } is { Length: > 0 } id
            ? id
            : FromContent(json);

    /// <summary>A stable id derived from the item's JSON text, so the same item always maps to the same result.</summary>
    public static string FromContent(string json) =>
        "h-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)).AsSpan(0, 12));
}
