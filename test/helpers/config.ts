/** The smallest valid production-like settings (as template.yaml would give), for config tests. */
export const MINIMAL_ENV = {
  BUCKET_NAME: 'bucket',
  TABLE_NAME: 'table',
  MEDIACONVERT_ROLE_ARN: 'arn:aws:iam::123456789012:role/mc',
  JWT_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc',
  JWT_AUDIENCE: 'client',
  JWT_JWKS_URL: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json',
  CDN_BASE_URL: 'https://d111111abcdef8.cloudfront.net',
  CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
  CLOUDFRONT_PRIVATE_KEY_PARAMETER: '/vod/cloudfront-private-key',
};
