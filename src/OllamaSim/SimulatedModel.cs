using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace OllamaSim;

/// <summary>
/// The simulated model's answers and costs. Everything here is a pure function of the text, stable
/// across processes and machines (SHA-256, not string.GetHashCode), so other projects' tests can
/// compute the expected answer with <see cref="AnswerFor"/>.
/// </summary>
public static partial class SimulatedModel
{
    /// <summary>The workshop's prompt; alone at time-scale 1 it takes <see cref="ReferenceSoloSeconds"/> ≈ 12.5 s.</summary>
    public const string ReferencePrompt =
        "Who is the mayor of Paris? Just give the name by itself on a single line. If you don't know, don't say anything.";

    /// <summary>Tokens the chat template adds around every prompt (qwen2's im_start/im_end markers).</summary>
    public const int TemplateTokens = 8;

    /// <summary>
    /// Solo cost of one prompt token, in seconds at time-scale 1. Together with <see cref="OutputTokenSeconds"/>
    /// calibrated so a 36-token prompt with a 5-token answer (the reference prompt) takes 12.5 s, matching the
    /// 0.08 req/s the workshop measured for one request at a time on CPU.
    /// </summary>
    public const double PromptTokenSeconds = 0.25;

    /// <summary>Solo cost of one generated token (including the end-of-sequence token), in seconds at time-scale 1.</summary>
    public const double OutputTokenSeconds = 0.7;

    /// <summary>Share of cities whose mayor the model "doesn't know" (empty answer).</summary>
    public const double UnknownCityShare = 0.15;

    private static readonly string[] FirstNames =
    [
        "Anne", "Marc", "Sofia", "Lukas", "Elena", "Tomasz", "Ingrid", "Rafael", "Chiara", "Henrik",
        "Amara", "Kenji", "Lucia", "Pieter", "Nadia", "Oscar", "Yasmin", "Mateo", "Greta", "Jonas",
        "Leila", "Dmitri", "Maren", "Hugo", "Carmen", "Anders", "Ines", "Viktor", "Mira", "Pablo",
    ];

    private static readonly string[] LastNames =
    [
        "Moreau", "Becker", "Rossi", "Novak", "Lindqvist", "Garcia", "Kowalski", "Jansen", "Dubois", "Silva",
        "Hartmann", "Costa", "Nielsen", "Ferrari", "Horvat", "Petrov", "Laurent", "Bauer", "Romano", "Berg",
        "Mendes", "Fischer", "Marchetti", "Wagner", "Olsen", "Castillo", "Keller", "Vidal", "Sato", "Okafor",
    ];

    private static readonly string[] Subjects =
    [
        "that depends on the context", "the answer is forty-two", "it is hard to say for sure",
        "most sources agree on it", "there is more than one view", "the short answer is yes",
        "the short answer is no", "it has changed over time",
    ];

    /// <summary>Solo seconds of the reference prompt, for documentation and calibration checks.</summary>
    public static double ReferenceSoloSeconds => SoloSecondsFor(ReferencePrompt);

    /// <summary>
    /// The deterministic answer. "... mayor of {City}? ..." gives a fake person's name (or "" for about 15%
    /// of cities — the model doesn't know); the same city gives the same name however the question is worded.
    /// Anything else gives a short sentence derived from the prompt.
    /// </summary>
    public static string AnswerFor(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var city = CityIn(prompt);
        if (city is not null)
        {
            var h = Hash(city.ToUpperInvariant());
            if (ReadUInt16(h, 0) % 1000 < UnknownCityShare * 1000)
            {
                return "";
            }

            return $"{FirstNames[ReadUInt16(h, 2) % FirstNames.Length]} {LastNames[ReadUInt16(h, 4) % LastNames.Length]}";
        }

        var p = Hash(prompt);
        return $"As a simulated model, I'd say {Subjects[ReadUInt16(p, 0) % Subjects.Length]} (ref {Convert.ToHexStringLower(p, 2, 3)}).";
    }

    /// <summary>The city in a "mayor of {City}?" question, or null.</summary>
    public static string? CityIn(string prompt)
    {
        var match = MayorQuestion().Match(prompt);
        return match.Success ? match.Groups["city"].Value.Trim() : null;
    }

    /// <summary>Prompt tokens as Ollama would report them: about four characters a token, plus the template.</summary>
    public static int PromptTokens(string promptText) => TemplateTokens + CeilDiv(promptText.Length, 4);

    /// <summary>Generated tokens: about four characters a token, plus the end-of-sequence token.</summary>
    public static int OutputTokens(string answer) => CeilDiv(answer.Length, 4) + 1;

    /// <summary>The answer cut into the pieces a stream sends, one per token (the end-of-sequence token sends nothing).</summary>
    public static IReadOnlyList<string> TokenPieces(string answer) =>
        answer.Chunk(4).Select(c => new string(c)).ToList();

    /// <summary>
    /// The <c>context</c> of a final generate response: token ids of the templated prompt and of the answer, as Ollama
    /// returns <c>Tokenize(prompt + answer)</c>. There are <see cref="PromptTokens"/>(<paramref name="promptText"/>)
    /// + one per answer piece of them (the end-of-sequence token is not part of it). Ids are qwen2's chat-template
    /// tokens around a SHA-256 id below the vocabulary size for each four-character piece.
    /// </summary>
    public static int[] ContextFor(string promptText, string answer)
    {
        ArgumentNullException.ThrowIfNull(promptText);
        ArgumentNullException.ThrowIfNull(answer);
        // <|im_start|>user\n … <|im_end|>\n<|im_start|>assistant\n: TemplateTokens in all.
        int[] before = [151644, 872, 198];
        int[] after = [151645, 198, 151644, 77091, 198];
        return [.. before, .. PieceIds(promptText), .. after, .. PieceIds(answer)];
    }

    /// <summary>Seconds one request for <paramref name="prompt"/> takes alone at time-scale 1 and speed 1.</summary>
    public static double SoloSecondsFor(string prompt) =>
        PromptTokens(prompt) * PromptTokenSeconds + OutputTokens(AnswerFor(prompt)) * OutputTokenSeconds;

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    // Below qwen2's 151,643 ordinary tokens, so no piece collides with a template token.
    private static IEnumerable<int> PieceIds(string text) =>
        text.Chunk(4).Select(c => (int)(BinaryPrimitives.ReadUInt32BigEndian(Hash(new string(c))) % 151_643));

    private static byte[] Hash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    private static int ReadUInt16(byte[] bytes, int offset) => (bytes[offset] << 8) | bytes[offset + 1];

    [GeneratedRegex(@"mayor of (?<city>[^?\r\n]+)\?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MayorQuestion();
}
