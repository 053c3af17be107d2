using System.Text.Json.Nodes;

namespace OrleansLlm.Api.Files;

/// <summary>OpenAI's file object, field by field.</summary>
public static class FileJson
{
    public static JsonObject Of(ApiFile file) => new()
    {
        ["id"] = file.Id,
        ["object"] = "file",
        ["bytes"] = file.Bytes,
        ["created_at"] = file.CreatedAt.ToUnixTimeSeconds(),
        ["expires_at"] = file.ExpiresAt?.ToUnixTimeSeconds(),
        ["filename"] = file.Filename,
        ["purpose"] = file.Purpose,
        ["status"] = "processed",
        ["status_details"] = null,
    };
}
