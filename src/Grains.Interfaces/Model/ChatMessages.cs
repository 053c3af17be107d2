using System.Text;
using System.Text.Json;

namespace OrleansLlm;

/// <summary>
/// Reads the conversation of a chat batch's item: its <c>messages</c>, as OpenAI's chat completions take them. The
/// client checks a file by the same rule the silo asks Ollama by.
/// </summary>
public static class ChatMessages
{
    public const string Field = "messages";

    /// <returns>Null with the messages, or why the item has none usable, in one line.</returns>
    public static string? TryRead(JsonElement item, out IReadOnlyList<ChatTurn> messages)
    {
        messages = [];
        if (!item.TryGetProperty(Field, out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return $"'{Field}' must be a non-empty array of {{\"role\",\"content\"}} messages";
        }

        var turns = new List<ChatTurn>(list.GetArrayLength());
        var index = 0;
        foreach (var message in list.EnumerateArray())
        {
            if (TryReadOne(message, out var turn) is { } error)
            {
                return $"{Field}[{index}]: {error}";
            }

            turns.Add(turn!);
            index++;
        }

        if (turns[^1].Role == "assistant")
        {
            return $"{Field}: the last message is the assistant's; there is nothing to answer";
        }

        messages = turns;
        return null;
    }

    private static string? TryReadOne(JsonElement message, out ChatTurn? turn)
    {
        turn = null;
        if (message.ValueKind != JsonValueKind.Object)
        {
            return "a message must be an object with a role and content";
        }

        var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        role = role switch
        {
            "system" or "user" or "assistant" => role,
            // OpenAI's newer name for the system role.
            "developer" => "system",
            _ => null,
        };
        if (role is null)
        {
            return "role must be system, developer, user or assistant";
        }

        if (!message.TryGetProperty("content", out var content))
        {
            return "content is missing";
        }

        var text = new StringBuilder();
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                text.Append(content.GetString());
                break;
            case JsonValueKind.Array:
                // Content parts: text only; an image or audio part would be dropped without a word, so it is refused.
                foreach (var part in content.EnumerateArray())
                {
                    var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                    if (type != "text" || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
                    {
                        return $"only text content parts are supported (found {(type is null ? "a part without a type" : $"'{type}'")})";
                    }

                    text.Append(partText.GetString());
                }

                break;
            default:
                return "content must be a string or an array of text parts";
        }

        turn = new ChatTurn(role, text.ToString());
        return null;
    }
}
