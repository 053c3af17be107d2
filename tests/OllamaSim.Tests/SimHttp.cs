using System.Net;
using System.Text;
using System.Text.Json;

namespace OllamaSim.Tests;

/// <summary>Plain HTTP calls against a simulator, as a client that is not OllamaSharp would make them.</summary>
internal static class SimHttp
{
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string path, object body) =>
        SendAsync(http, HttpMethod.Post, path, JsonSerializer.Serialize(body));

    /// <summary>POSTs and expects 200 with one JSON object (a non-streaming answer).</summary>
    public static async Task<JsonElement> PostOkAsync(HttpClient http, string path, object body)
    {
        var (status, text) = await PostAsync(http, path, body);
        Assert.True(status == HttpStatusCode.OK, $"{path} answered {(int)status}: {text}");
        return Parse(text);
    }

    public static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static string? Error(string body) => Parse(body).GetProperty("error").GetString();
}
