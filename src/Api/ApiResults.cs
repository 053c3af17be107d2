using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace OrleansLlm.Api;

public static class ApiResults
{
    public static IResult Json(JsonNode body) => Results.Text(body.ToJsonString(), "application/json");

    /// <summary>OpenAI's list object: a page of <paramref name="data"/>, its first and last ids, and whether more follow.</summary>
    public static IResult List(IReadOnlyList<JsonObject> data, bool hasMore) => Json(new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray([.. data]),
        ["first_id"] = data.Count > 0 ? data[0]["id"]!.GetValue<string>() : null,
        ["last_id"] = data.Count > 0 ? data[^1]["id"]!.GetValue<string>() : null,
        ["has_more"] = hasMore,
    });
}
