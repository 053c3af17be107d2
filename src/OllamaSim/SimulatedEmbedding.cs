using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OllamaSim;

/// <summary>
/// The simulated model's embeddings: a pure function of the text (SHA-256, the same on every machine), so tests
/// elsewhere can compute what the simulator returns. Equal texts give equal vectors; different texts nearly
/// orthogonal ones.
/// </summary>
public static class SimulatedEmbedding
{
    /// <summary>Length of every vector, before /api/embed's <c>dimensions</c> shortens it (nomic-embed-text's size).</summary>
    public const int Dimensions = 768;

    /// <summary>
    /// The raw vector, as /api/embeddings returns it: components in [−1, 1]. /api/embed returns it
    /// <see cref="Normalise">normalised</see>.
    /// </summary>
    public static float[] For(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vector = new float[Dimensions];
        const int perBlock = SHA256.HashSizeInBytes / sizeof(ushort);
        for (var block = 0; block * perBlock < Dimensions; block++)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{block}\0{text}"));
            for (var i = 0; i < perBlock && (block * perBlock) + i < Dimensions; i++)
            {
                var value = BinaryPrimitives.ReadUInt16BigEndian(hash.AsSpan(i * sizeof(ushort)));
                vector[(block * perBlock) + i] = (float)((value / 32767.5) - 1);
            }
        }

        return vector;
    }

    /// <summary>The vector scaled to unit length, as Ollama's /api/embed does.</summary>
    public static float[] Normalise(float[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        var sum = vector.Sum(v => (double)v * v);
        var scale = (float)(1 / Math.Max(Math.Sqrt(sum), 1e-12));
        return vector.Select(v => v * scale).ToArray();
    }

    /// <summary>Prompt tokens an input costs and reports: about four characters a token, plus the two sequence markers.</summary>
    public static int Tokens(string text) => ((text.Length + 3) / 4) + 2;
}
